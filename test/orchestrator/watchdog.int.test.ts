import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { defaultPhiAccrualConfig } from "../../domain/instance/phiAccrual.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { subjects } from "../../domain/subjects.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeWatchdog } from "../../src/instances/watchdog.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { command } from "../support/commands.ts"
import { eventually } from "../support/eventually.ts"
import type { InstanceId } from "../../domain/ids.ts"
import { publishStored } from "../support/publishStored.ts"

const testLayer = Layer.mergeAll(natsEventBus.layer(), jetstreamSetup.layer(), CommandHandler.layer.pipe(Layer.provideMerge(memoryStore))).pipe(
  Layer.provideMerge(natsTestLayer)
)

const publish = (subject: string, body: string) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    yield* Effect.promise(() => publishStored(nc, subject, body))
  })

const heartbeat = (instanceId: string, seq: number, ready: boolean) =>
  publish(subjects.signal("acme", instanceId, "hb"), JSON.stringify({ instanceId, seq, at: "2026-11-30T12:00:00.000Z", ready }))

/** A shadow deployed and started, as the instance runner records it: the watchdog's to judge from here. */
const startedShadow = (id: string) =>
  Effect.gen(function* () {
    const handler = yield* CommandHandler
    const instanceId = id as InstanceId
    yield* handler.handle(command("DeployShadow", {
      instanceId, clientId: "c1", tier: "basic", template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 100, memoryMiB: 128 }
    }))
    yield* handler.handle(command("RecordInstanceStarted", { instanceId, runtimeId: "rt-1" }))
    return instanceId
  })

const types = (stream: string) => EventStore.use((store) => store.readStream(stream)).pipe(Effect.map((events) => events.map((e) => e.type)))

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("watchdog on UMBRA_SIGNALS", (it) => {
  it.effect("marks ready on the first ready beat, drops bad signals, and records a silence as HeartbeatLost once", () =>
    Effect.gen(function* () {
      const instanceId = yield* startedShadow("shd-watched")
      const watchdog = yield* makeWatchdog({
        phi: { ...defaultPhiAccrualConfig, expectedIntervalMs: 200, acceptablePauseMs: 200, startupGraceMs: 10_000 },
        checkEveryMs: 50
      })
      yield* watchdog.watch({ tenant: "acme", instanceId, epoch: "acme/shd-watched/rt-1/0/c1", ready: false })
      // The follower starts from "now": beat until one is seen.
      let seq = 0
      yield* eventually(
        Effect.suspend(() => heartbeat(instanceId, seq, ++seq > 2)).pipe(
          Effect.andThen(Effect.sleep("200 millis")),
          Effect.andThen(types(`instance-acme.${instanceId}`)),
          Effect.map((all) => all.includes("InstanceReady"))
        ),
        20_000,
        "InstanceReady"
      )
      // Bad signals are counted and dropped: they neither stop the follower nor keep the instance alive.
      yield* publish(subjects.signal("acme", instanceId, "hb"), "not json")
      yield* publish(subjects.signal("acme", instanceId, "hb"), JSON.stringify({ instanceId, seq: -1, at: "x", ready: true }))
      yield* publish(subjects.signal("acme", instanceId, "hb"), JSON.stringify({ instanceId: "shd-other", seq: 1, at: "x", ready: true }))
      yield* eventually(watchdog.badSignals.pipe(Effect.map((n) => n === 3)), 5_000, "three bad signals counted")
      yield* eventually(types(`instance-acme.${instanceId}`).pipe(Effect.map((all) => all.includes("HeartbeatLost"))), 10_000, "HeartbeatLost")
      yield* Effect.sleep("1 second")
      assert.deepStrictEqual(yield* types(`instance-acme.${instanceId}`), ["ShadowRequested", "InstanceStarted", "InstanceReady", "HeartbeatLost"])
      assert.deepStrictEqual(yield* watchdog.watched, [])
    }).pipe(Effect.scoped))

  it.effect("waits out a warming instance's late beats, and declares it lost only after a silence as long as the startup grace", () =>
    Effect.gen(function* () {
      const instanceId = yield* startedShadow("shd-warming")
      const watchdog = yield* makeWatchdog({
        phi: { ...defaultPhiAccrualConfig, expectedIntervalMs: 200, acceptablePauseMs: 200, startupGraceMs: 4_000 },
        checkEveryMs: 50
      })
      yield* watchdog.watch({ tenant: "acme", instanceId, epoch: "acme/shd-warming/rt-1/0/c1", ready: false })
      let seq = 0
      const beat = Effect.suspend(() =>
        publish(subjects.signal("acme", instanceId, "hb"), JSON.stringify({ instanceId, seq: seq++, at: "2026-11-30T12:00:00.000Z", ready: false, warming: true }))
      )
      const seen = watchdog.watched.pipe(Effect.map((all) => all.some((one) => one.instanceId === instanceId && one.latency === undefined)))
      yield* eventually(beat.pipe(Effect.andThen(Effect.sleep("200 millis")), Effect.andThen(seen)), 10_000, "beats seen")
      for (let i = 0; i < 5; i++) yield* beat.pipe(Effect.andThen(Effect.sleep("200 millis")))
      // A warm-up holding the quota: 1.5 s between beats, over seven intervals, several times over.
      for (let i = 0; i < 3; i++) yield* beat.pipe(Effect.andThen(Effect.sleep("1500 millis")))
      assert.deepStrictEqual(yield* types(`instance-acme.${instanceId}`), ["ShadowRequested", "InstanceStarted"])
      yield* eventually(types(`instance-acme.${instanceId}`).pipe(Effect.map((all) => all.includes("HeartbeatLost"))), 15_000, "HeartbeatLost")
      const lost = (yield* EventStore.use((store) => store.readStream(`instance-acme.${instanceId}`))).at(-1)!
      assert.match((lost.data as { reason: string }).reason, /silent-while-warming/)
    }).pipe(Effect.scoped))

  it.effect("keeps last, p50 and p99 of the agent's round trips, and counts a sustained rise once", () =>
    Effect.gen(function* () {
      const instanceId = "shd-latency" as InstanceId
      const watchdog = yield* makeWatchdog({ phi: { ...defaultPhiAccrualConfig, startupGraceMs: 60_000 }, checkEveryMs: 1_000 })
      yield* watchdog.watch({ tenant: "acme", instanceId, epoch: "acme/shd-latency/rt-1/0/c1", ready: true })
      const beat = (seq: number, rttMs: number) =>
        publish(subjects.signal("acme", instanceId, "hb"), JSON.stringify({ instanceId, seq, at: "2026-11-30T12:00:00.000Z", ready: true, rttMs }))
      const latency = watchdog.watched.pipe(Effect.map((all) => all.find((one) => one.instanceId === instanceId)?.latency))
      // The follower starts from "now": beat until one is seen.
      let seq = 0
      yield* eventually(Effect.suspend(() => beat(seq++, 5)).pipe(Effect.andThen(latency), Effect.map((found) => found !== undefined)), 10_000, "a round trip")
      for (let i = 0; i < 16; i++) yield* beat(seq++, 5)
      for (let i = 0; i < 16; i++) yield* beat(seq++, 80)
      yield* beat(seq++, 81)
      yield* eventually(latency.pipe(Effect.map((found) => found?.lastMs === 81)), 10_000, "the last round trip")
      assert.deepInclude(yield* latency, { p50Ms: 5, p99Ms: 81 })
      assert.strictEqual(yield* watchdog.latencyRises, 1)
    }).pipe(Effect.scoped))

  it.effect("a claimed shadow is ready only from the heartbeat its agent named: earlier ones speak for the last client's workload", () =>
    Effect.gen(function* () {
      const instanceId = yield* startedShadow("shd-claimed")
      const watchdog = yield* makeWatchdog({ phi: { ...defaultPhiAccrualConfig, startupGraceMs: 60_000 }, checkEveryMs: 1_000 })
      const readyFromSeq = 1_000
      yield* watchdog.watch({ tenant: "acme", instanceId, epoch: "acme/shd-claimed/rt-1/0/c2", ready: false, readyFromSeq })
      const beat = (seq: number) =>
        publish(subjects.signal("acme", instanceId, "hb"), JSON.stringify({ instanceId, seq, at: "2026-11-30T12:00:00.000Z", ready: true, rttMs: 5 }))
      const seen = watchdog.watched.pipe(Effect.map((all) => all.some((one) => one.instanceId === instanceId && one.latency !== undefined)))
      // The follower starts from "now": beat until one is seen (its round trip kept), then a few more.
      let seq = 900
      yield* eventually(Effect.suspend(() => beat(seq++)).pipe(Effect.andThen(seen)), 10_000, "a heartbeat seen")
      for (let i = 0; i < 8; i++) yield* beat(seq++)
      yield* Effect.sleep("500 millis")
      assert.deepStrictEqual(yield* types(`instance-acme.${instanceId}`), ["ShadowRequested", "InstanceStarted"], "no ready before the named heartbeat")
      yield* beat(readyFromSeq)
      yield* eventually(types(`instance-acme.${instanceId}`).pipe(Effect.map((all) => all.includes("InstanceReady"))), 10_000, "InstanceReady")
    }).pipe(Effect.scoped))

  it.effect("a claimed shadow whose agent said its workload is ready (started in the pool) is marked ready at once, without a heartbeat", () =>
    Effect.gen(function* () {
      const instanceId = yield* startedShadow("shd-pooled-ready")
      const watchdog = yield* makeWatchdog({ phi: { ...defaultPhiAccrualConfig, startupGraceMs: 60_000 }, checkEveryMs: 1_000 })
      const watched = { tenant: "acme", instanceId, epoch: "acme/shd-pooled-ready/rt-1/0/c2", ready: false, readyFromSeq: 7, readyNow: true }
      yield* watchdog.watch(watched)
      assert.deepStrictEqual(yield* types(`instance-acme.${instanceId}`), ["ShadowRequested", "InstanceStarted", "InstanceReady"])
      // Watched again for the same run (a redelivered claim): nothing more.
      yield* watchdog.watch(watched)
      assert.deepStrictEqual(yield* types(`instance-acme.${instanceId}`), ["ShadowRequested", "InstanceStarted", "InstanceReady"])
    }).pipe(Effect.scoped))
})
