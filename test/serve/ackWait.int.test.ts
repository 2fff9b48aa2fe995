import { assert, describe, it, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { ConfigProvider, Effect, Exit } from "effect"
import { UmbraConfig } from "../../infra/config.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { controlPlaneTestLayerWith } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"

const ackWaitMs = 4_000

describe("UMBRA_ACK_WAIT_MS", () => {
  it.effect("defaults to 30 s, and a value under a second or over an hour is refused", () =>
    Effect.gen(function* () {
      const parse = (env: Record<string, string>) => UmbraConfig.parse(ConfigProvider.fromUnknown(env))
      assert.strictEqual((yield* parse({})).ackWaitMs, 30_000)
      assert.strictEqual((yield* parse({ UMBRA_ACK_WAIT_MS: "4000" })).ackWaitMs, 4_000)
      for (const refused of ["999", "3600001", "1500.5", "soon"]) {
        assert.isTrue(Exit.isFailure(yield* Effect.exit(parse({ UMBRA_ACK_WAIT_MS: refused }))), refused)
      }
    }))
})

layer(controlPlaneTestLayerWith({ ackWaitMs }), { timeout: "60 seconds" })("a control plane with UMBRA_ACK_WAIT_MS set", (it) => {
  it.effect("gives every durable consumer of UMBRA_EVENTS that ack_wait", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const listDurables = Effect.promise(async () => {
        const found: Array<{ readonly name: string; readonly ackWaitNanos: number }> = []
        for await (const info of (await jetstreamManager(nc)).consumers.list(streamNames.events)) {
          if (info.config.durable_name !== undefined) found.push({ name: info.name, ackWaitNanos: info.config.ack_wait ?? 0 })
        }
        return found
      })
      yield* eventually(listDurables.pipe(Effect.map((found) => found.length > 0)), 10_000, "a durable consumer")
      const durables = yield* listDurables
      assert.deepStrictEqual(
        durables.filter(({ ackWaitNanos }) => ackWaitNanos !== ackWaitMs * 1_000_000),
        [],
        `durable consumers: ${durables.map(({ name }) => name).join(", ")}`
      )
    }))
})
