import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { controlPlaneTestLayer, requestRaw, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { anyJson, boundedAll, checkProperty, excerpt, hostileNumberText, hostileString, hostileToken, jsonWithNumbers, numberSlot } from "./hostileInput.ts"
import { QueryReply } from "./replies.ts"

const batchSize = 50
const batches = 40
const maxBodyBytes = 64 * 1024 // testConfig's commandMaxBytes

const queryName = fc.oneof(
  { weight: 6, arbitrary: fc.constant("Launch") },
  { weight: 2, arbitrary: fc.constantFrom("Fleet", "Liveness", "Profile", "Forecast", "Launches", "Tenant", "launch", "__proto__", "constructor", "toString", "hasOwnProperty") },
  { weight: 1, arbitrary: hostileToken }
)
const tenant = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("acme", "beta-1") }, { weight: 2, arbitrary: hostileToken })
const launchId = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("l1", "l2", "nope") }, { weight: 2, arbitrary: hostileString }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: fc.constant(numberSlot) })
const body = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(launchId, fc.option(fc.tuple(fc.constantFrom("__proto__", "constructor", "extra"), anyJson), { nil: undefined }), hostileNumberText)
      .map(([id, extra, number]) => {
        const query = extra === undefined ? { launchId: id } : { launchId: id, ...JSON.parse(`{${JSON.stringify(extra[0])}:${JSON.stringify(extra[1])}}`) }
        return jsonWithNumbers(query, [number])
      })
  },
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("", "{", "[", "\u0000", "NaN", '{"launchId":"l1"}}')) },
  { weight: 2, arbitrary: anyJson.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom(maxBodyBytes + 1, maxBodyBytes - 100).map((size) => JSON.stringify({ launchId: "l".repeat(size) })) }
)
const request = fc.record({ tenant, name: queryName, body })
type Request = typeof request extends fc.Arbitrary<infer R> ? R : never

const decodeReply = Schema.decodeUnknownResult(QueryReply)

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "120 seconds" })("queries: hostile input at scale", (it) => {
  it.effect(`${batchSize * batches} generated queries each get a result or a typed error, and change nothing`, () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const store = yield* EventStore
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "c1", tier: "basic" })).ok)
      yield* eventually(store.readStream("profile-acme.c1").pipe(Effect.map((events) => events.length === 1)), 10_000, "the profile")
      assert.isTrue((yield* send("acme", "RequestProduction", { clientId: "c1", launchId: "l1" })).ok)
      const head = yield* store.headPosition()
      const encoder = new TextEncoder()
      let answered = 0
      let found = 0

      const one = async ({ tenant, name, body }: Request) => {
        const subject = `umbra.query.${tenant}.${name}`
        const answer = (await nc.request(subject, encoder.encode(body), { timeout: 15_000 })).string()
        const reply = decodeReply(answer)
        if (reply._tag === "Failure") throw new Error(`reply ${excerpt(answer)} to ${subject} ${excerpt(body)}`)
        answered++
        if (reply.success.ok) found++
      }

      yield* Effect.promise(() =>
        checkProperty(
          fc.asyncProperty(fc.array(request, { minLength: batchSize, maxLength: batchSize }), async (requests) => {
            await boundedAll(requests, 16, one)
          }),
          batches
        )
      )

      assert.isAtLeast(answered, batchSize * batches)
      assert.isAbove(found, 0, "some generated queries find the launch")
      assert.isUndefined((Object.prototype as Record<string, unknown>)["polluted"])
      assert.deepStrictEqual(yield* store.headPosition(), head, "queries append nothing")
      const still = yield* requestRaw("umbra.query.acme.Launch", JSON.stringify({ launchId: "l1" }))
      assert.isTrue(still.ok, "the gateway still answers")
      yield* Effect.logWarning("queries property", { answered, found })
    }))
})
