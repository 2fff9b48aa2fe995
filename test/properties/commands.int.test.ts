import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { internalCommandTypes, publicCommandTypes } from "../../domain/commands.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { controlPlaneTestLayer, send } from "../support/controlPlane.ts"
import { anyJson, boundedAll, checkProperty, excerpt, hostileNumberText, hostileString, hostileToken, jsonWithNumbers, numberSlot } from "./hostileInput.ts"
import { CommandReply } from "./replies.ts"

const batchSize = 50
const batches = 64
const maxBodyBytes = 64 * 1024 // testConfig's commandMaxBytes

const clientId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom("c1", "c2", "c3", "c4", "c5", "c6") }, { weight: 2, arbitrary: hostileString }, { weight: 1, arbitrary: anyJson })
const number = fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.constant(numberSlot), fc.double(), hostileString)
const template = fc.oneof(
  { weight: 3, arbitrary: fc.constant(defaultTemplate) },
  {
    weight: 2,
    arbitrary: fc.record({
      image: fc.oneof(fc.constant(defaultTemplate.image), hostileString),
      dependencies: fc.array(hostileString, { maxLength: 4 }),
      statePaths: fc.array(fc.oneof(fc.constantFrom("/var/lib/x", "../../etc", "/", "/proc/self", "relative/path", "/a/../../etc"), hostileString), { maxLength: 4 }),
      settings: fc.dictionary(hostileString, fc.oneof(hostileString, anyJson), { maxKeys: 4 })
    })
  },
  { weight: 1, arbitrary: anyJson }
)
const network = fc.oneof(
  { weight: 3, arbitrary: fc.constant(defaultNetwork) },
  { weight: 1, arbitrary: fc.record({ subnets: fc.array(hostileString, { maxLength: 3 }), securityGroups: fc.array(hostileString, { maxLength: 3 }), egress: fc.oneof(fc.boolean(), anyJson) }) },
  { weight: 1, arbitrary: anyJson }
)
/** Command fields, each usually right and sometimes hostile, with keys that would pollute a prototype or override a tag. */
const fields = fc
  .record(
    {
      clientId,
      tier: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("basic", "standard", "premium") }, hostileString, anyJson),
      template,
      network,
      reason: fc.oneof(fc.string({ maxLength: 40 }), fc.integer({ min: 513, max: 4_000 }).map((n) => "r".repeat(n)), anyJson),
      expected: fc.record({ cpuMillis: number, memoryMiB: number, storageGiB: number }, { requiredKeys: [] }),
      launchId: fc.oneof(fc.constantFrom("l1", "l2", "l3"), hostileString),
      priority: number,
      extra: fc.tuple(fc.constantFrom("__proto__", "constructor", "_tag", "tenant", "commandId"), anyJson)
    },
    { requiredKeys: ["clientId"] }
  )
  // JSON.parse makes `__proto__` an own key, as a body on the wire would.
  .map(({ extra, ...rest }) => (extra === undefined ? rest : { ...rest, ...JSON.parse(`{${JSON.stringify(extra[0])}:${JSON.stringify(extra[1])}}`) }))

const commandType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...publicCommandTypes) },
  { weight: 2, arbitrary: fc.constantFrom(...internalCommandTypes) },
  { weight: 1, arbitrary: fc.constantFrom("Nope", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "connectclient") },
  { weight: 1, arbitrary: hostileToken }
)
const tenant = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("acme", "beta-1", "t_2") }, { weight: 2, arbitrary: hostileToken })
/** A few command ids are reused, so repeats (answered as duplicates, or decided again elsewhere) happen too. */
const commandId = fc.oneof({ weight: 9, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom(...[1, 2, 3, 4].map((n) => `00000000-0000-4000-8000-00000000000${n}`)) })

const body = fc.oneof(
  // A well-formed envelope around hostile fields, numbers past a double among them.
  {
    weight: 10,
    arbitrary: fc
      .tuple(commandId, fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 129, maxLength: 300 }), anyJson), { nil: undefined }), fields, fc.array(hostileNumberText, { minLength: 1, maxLength: 3 }))
      .map(([id, correlationId, data, numbers]) => jsonWithNumbers({ commandId: id, ...(correlationId === undefined ? {} : { correlationId }), data }, numbers))
  },
  // Not JSON, or cut short.
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("", "{", '{"commandId":', "[1,2", "\u0000", "NaN", "Infinity", '{"commandId":"x","data":{}}}')) },
  // JSON of the wrong shape or types.
  { weight: 2, arbitrary: fc.oneof(anyJson.map((v) => JSON.stringify(v)), fc.tuple(fc.uuid(), anyJson).map(([id, data]) => JSON.stringify({ commandId: id, data })), anyJson.map((id) => JSON.stringify({ commandId: id, data: {} }))) },
  // Over the size limit, and just under it.
  { weight: 1, arbitrary: fc.constantFrom(maxBodyBytes + 1, maxBodyBytes - 200).chain((size) => fc.uuid().map((id) => JSON.stringify({ commandId: id, data: { clientId: "c1", tier: "basic", reason: "x".repeat(size) } }))) }
)

/** Well-formed commands of the few clients the hostile ones aim at, so that the store has something to hold. */
const validData: Readonly<Record<string, (clientId: string) => unknown>> = {
  ConnectClient: (clientId) => ({ clientId, tier: "basic" }),
  DisconnectClient: (clientId) => ({ clientId }),
  SetTemplate: (clientId) => ({ clientId, template: defaultTemplate }),
  SetNetwork: (clientId) => ({ clientId, network: defaultNetwork }),
  RefineProfile: (clientId) => ({ clientId, expected: { cpuMillis: 500 }, reason: "manual" }),
  RequestProduction: (clientId) => ({ clientId, priority: 1 })
}
const validRequest = fc
  .record({ tenant: fc.constantFrom("acme", "beta-1"), type: fc.constantFrom(...publicCommandTypes), clientId: fc.constantFrom("c1", "c2", "c3"), commandId })
  .map(({ tenant, type, clientId, commandId }) => ({ tenant, type, body: JSON.stringify({ commandId, data: validData[type]?.(clientId) }) }))

const request = fc.oneof({ weight: 3, arbitrary: fc.record({ tenant, type: commandType, body }) }, { weight: 1, arbitrary: validRequest })
type Request = typeof request extends fc.Arbitrary<infer R> ? R : never

const decodeReply = Schema.decodeUnknownResult(CommandReply)

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "120 seconds" })("commands: hostile input at scale", (it) => {
  it.effect(`${batchSize * batches} generated commands each get ok or a typed error; the store holds exactly the accepted events`, () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const store = yield* EventStore
      const encoder = new TextEncoder()
      const sentIds = new Set<string>()
      const acceptedEventIds = new Set<string>()
      let sent = 0
      let accepted = 0

      const one = async ({ tenant, type, body }: Request) => {
        const id = /"commandId":"([0-9a-f-]{36})"/.exec(body)?.[1]
        if (id !== undefined) sentIds.add(id)
        const subject = `umbra.cmd.${tenant}.${type}`
        const answer = (await nc.request(subject, encoder.encode(body), { timeout: 15_000 })).string()
        sent++
        const reply = decodeReply(answer)
        if (reply._tag === "Failure") throw new Error(`reply ${excerpt(answer)} to ${subject} ${excerpt(body)}`)
        return { body, reply: reply.success }
      }

      yield* Effect.promise(() =>
        checkProperty(
          fc.asyncProperty(fc.array(request, { minLength: batchSize, maxLength: batchSize }), async (requests) => {
            for (const { body, reply } of await boundedAll(requests, 16, one)) {
              if (!reply.ok) continue
              accepted++
              for (const event of reply.events) {
                assert.isTrue(!reply.duplicate || acceptedEventIds.has(event.id), `a duplicate answers with events already stored: ${excerpt(body)}`)
                acceptedEventIds.add(event.id)
              }
            }
          }),
          batches
        )
      )

      assert.isAtLeast(sent, batchSize * batches)
      assert.isAbove(accepted, 0, "some generated commands are accepted")
      assert.isUndefined((Object.prototype as Record<string, unknown>)["polluted"], "no body reached Object.prototype")
      // The control plane still serves.
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "after-the-storm", tier: "basic" })).ok)
      // Every event the generated commands caused is one their replies named, and each of those is stored once.
      const caused = (yield* store.readAll()).filter((event) => sentIds.has(event.causationId))
      assert.strictEqual(new Set(caused.map((event) => event.id)).size, caused.length)
      assert.deepStrictEqual(new Set(caused.map((event) => event.id)), acceptedEventIds)
      yield* Effect.logWarning("commands property", { sent, accepted, events: acceptedEventIds.size })
    }))
})
