import { assert } from "@effect/vitest"
import type { NatsConnection as CoreConnection } from "@nats-io/transport-node"
import { Effect, Ref, Schema, Stream } from "effect"
import { Heartbeat, TelemetrySample } from "../../domain/signals.ts"
import { subjects } from "../../domain/subjects.ts"
import { type ControlReply, ControlReplyJson } from "../../domain/control.ts"
import type { NatsTestServer } from "../harness/natsServer.ts"
import { eventually } from "./eventually.ts"

export interface InstanceSignals {
  readonly heartbeats: Effect.Effect<ReadonlyArray<Heartbeat>>
  readonly telemetry: Effect.Effect<ReadonlyArray<TelemetrySample>>
}

/** Collects (decoding with the domain's schemas) one instance's heartbeats and telemetry for the scope. */
export const collectSignals = (nc: CoreConnection, tenant: string, instanceId: string) =>
  Effect.gen(function* () {
    const heartbeats = yield* Ref.make<ReadonlyArray<Heartbeat>>([])
    const telemetry = yield* Ref.make<ReadonlyArray<TelemetrySample>>([])
    const follow = <A>(kind: "hb" | "tm", schema: Schema.Codec<A, unknown>, into: Ref.Ref<ReadonlyArray<A>>) =>
      Effect.acquireRelease(
        Effect.sync(() => nc.subscribe(subjects.signal(tenant, instanceId, kind))),
        (sub) => Effect.sync(() => sub.unsubscribe())
      ).pipe(Effect.flatMap((sub) =>
        Stream.fromAsyncIterable(sub, (cause) => cause).pipe(
          Stream.mapEffect((msg) => Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(msg.string())),
          Stream.runForEach((decoded) => Ref.update(into, (all) => [...all, decoded])),
          Effect.orDie,
          Effect.forkScoped
        )
      ))
    yield* follow("hb", Heartbeat as Schema.Codec<Heartbeat, unknown>, heartbeats)
    yield* follow("tm", TelemetrySample as Schema.Codec<TelemetrySample, unknown>, telemetry)
    return { heartbeats: Ref.get(heartbeats), telemetry: Ref.get(telemetry) } satisfies InstanceSignals
  })

export const control = (nc: CoreConnection, tenant: string, instanceId: string, op: string) =>
  Effect.tryPromise(() => nc.request(subjects.control(tenant, instanceId), JSON.stringify({ op }), { timeout: 10_000 })).pipe(
    Effect.flatMap((reply) => Schema.decodeUnknownEffect(ControlReplyJson)(reply.string()))
  )

const lastHeartbeat = (signals: InstanceSignals) => signals.heartbeats.pipe(Effect.map((all) => all.at(-1)))

/** Heartbeats with increasing sequence numbers for the instance, that turn ready, and decoded telemetry. */
export const expectHeartbeatsAndTelemetry = (signals: InstanceSignals, instanceId: string, warmMs = 60_000) =>
  Effect.gen(function* () {
    yield* eventually(lastHeartbeat(signals).pipe(Effect.map((hb) => hb?.ready === true)), warmMs, "a ready heartbeat")
    const beats = yield* signals.heartbeats
    for (const [index, beat] of beats.entries()) {
      assert.strictEqual(beat.instanceId, instanceId)
      if (index > 0) assert.isAbove(beat.seq, beats[index - 1]!.seq)
    }
    yield* eventually(signals.telemetry.pipe(Effect.map((all) => all.some((tm) => tm.metrics?.["requestsServed"] !== undefined))), 30_000, "telemetry with the workload's metrics")
    const sample = (yield* signals.telemetry).at(-1)!
    assert.strictEqual(sample.instanceId, instanceId)
    assert.isAbove(sample.memBytes, 0)
    assert.isAtLeast(sample.cpu, 0)
  })

/** `statePaths` and `prepareTransfer` report the warm cache; `drain` turns the heartbeats not ready. */
export const expectControlReplies = (nc: CoreConnection, signals: InstanceSignals, tenant: string, instanceId: string) =>
  Effect.gen(function* () {
    const paths: ControlReply = yield* control(nc, tenant, instanceId, "statePaths")
    assert.isTrue(paths.ok && "op" in paths && paths.op === "statePaths" && paths.paths.length === 1 && paths.paths[0]!.files > 0, JSON.stringify(paths))
    const transfer = yield* control(nc, tenant, instanceId, "prepareTransfer")
    assert.isTrue(transfer.ok && "op" in transfer && transfer.op === "prepareTransfer" && transfer.bytes > 0, JSON.stringify(transfer))
    const bad = yield* control(nc, tenant, instanceId, "reboot")
    assert.isFalse(bad.ok)
    const drained = yield* control(nc, tenant, instanceId, "drain")
    assert.isTrue(drained.ok)
    const seqAtDrain = (yield* lastHeartbeat(signals))?.seq ?? 0
    yield* eventually(
      lastHeartbeat(signals).pipe(Effect.map((hb) => hb !== undefined && hb.seq > seqAtDrain + 1 && !hb.ready)),
      10_000,
      "heartbeats saying not ready after drain"
    )
  })

/** After the server restarts, heartbeats keep coming (the agent reconnected, sequence still increasing). */
export const expectReconnect = (server: NatsTestServer["Service"], signals: InstanceSignals) =>
  Effect.gen(function* () {
    const before = (yield* lastHeartbeat(signals))?.seq ?? 0
    yield* server.restart
    yield* eventually(lastHeartbeat(signals).pipe(Effect.map((hb) => hb !== undefined && hb.seq > before + 2)), 30_000, "heartbeats after the restart")
  })
