/**
 * What history costs. `commands.history.<n>`: one sender's RefineProfile latency through the command handler
 * over the SQLite store, on a profile stream already `n` events long, next to the same at 10 events.
 * `startup.live`: what the orchestrator's start reads before it serves (the live index caught up, the
 * instances reconciled) with 1,000,000 stored events and 1,000 live instances, next to an empty store.
 */
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encodeEvent } from "../domain/catalog.ts"
import type { NewEvent } from "../domain/envelope.ts"
import type { ClientId, InstanceId } from "../domain/ids.ts"
import { tierDefaults } from "../domain/profile/resources.ts"
import { defaultNetwork, defaultTemplate } from "../domain/profile/template.ts"
import { layerFile } from "../infra/eventStore/sqliteEventStore.ts"
import { ReadModelDatabase } from "../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../infra/readModels/sqliteProjections.ts"
import { CommandHandler, makeCommandHandler } from "../src/commands/commandHandler.ts"
import { EventStore } from "../src/eventStore/eventStore.ts"
import { defaultFoldLimits } from "../src/eventStore/foldedStreams.ts"
import { reconcile } from "../src/instances/reconciler.ts"
import type { Watchdog } from "../src/instances/watchdog.ts"
import { catchUpLiveIndex } from "../src/projections/liveIndex.ts"
import { command } from "../test/support/commands.ts"
import { fakeRuntimeLayer, makeFakeRuntime } from "../test/support/fakeRuntime.ts"
import { type Benchmark, type BenchResult, result } from "./benchmark.ts"
import { runQuiet } from "./runQuiet.ts"

const lengths = [10, 1_000, 10_000, 100_000]
const timedCommands = 300
const coldStarts = 10
const storedEvents = 1_000_000
const liveInstances = 1_000
const batch = 1_000

const withTempDir = async <A>(use: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "umbra-bench-history-"))
  try {
    return await use(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const envelope = (event: Parameters<typeof encodeEvent>[0]): NewEvent => ({
  id: randomUUID(),
  at: new Date().toISOString(),
  tenant: "acme",
  correlationId: randomUUID(),
  causationId: randomUUID(),
  ...encodeEvent(event)
})

/** Appends `count` events made by `make(i)` to `stream` in batches, after `from` events already there. */
const fill = (stream: string, from: number, count: number, make: (i: number) => NewEvent) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    for (let start = 0; start < count; start += batch) {
      const events = Array.from({ length: Math.min(batch, count - start) }, (_, k) => make(from + start + k))
      yield* store.append(stream, from + start === 0 ? "no_stream" : from + start - 1, events)
    }
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    yield* effect
    return performance.now() - start
  })

const refine = (i: number) => command("RefineProfile", { clientId: "c1", expected: { cpuMillis: 1000 + (i % 100_000) }, reason: `bench ${i}` })

/** Latencies at one stream length: warm (one handler, state cached) and cold (a new handler each time). */
const latencyAt = (length: number) =>
  withTempDir((dir) =>
    runQuiet(
      Effect.gen(function* () {
        const profile = "profile-acme.c1"
        yield* fill(profile, 0, 1, () =>
          envelope({ _tag: "ProfileCreated", clientId: "c1" as ClientId, tier: "basic", expected: tierDefaults.basic, basis: "tier", template: defaultTemplate, network: defaultNetwork })
        )
        yield* fill(profile, 1, length - 1, (i) =>
          envelope({ _tag: "ProfileRefined", clientId: "c1" as ClientId, expected: { ...tierDefaults.basic, cpuMillis: 600 + i }, previous: tierDefaults.basic, reason: "filler", source: "manual" })
        )
        const handler = yield* makeCommandHandler(defaultFoldLimits)
        const first = yield* timed(handler.handle(refine(0)))
        const warm: Array<number> = []
        for (let i = 1; i <= timedCommands; i++) warm.push(yield* timed(handler.handle(refine(i))))
        const cold: Array<number> = []
        for (let i = 0; i < coldStarts; i++) {
          const fresh = yield* makeCommandHandler(defaultFoldLimits)
          cold.push(yield* timed(fresh.handle(refine(timedCommands + 1 + i))))
        }
        warm.sort((a, b) => a - b)
        cold.sort((a, b) => a - b)
        return { first, p50: percentile(warm, 0.5), p99: percentile(warm, 0.99), coldP50: percentile(cold, 0.5) }
      }).pipe(Effect.provide(layerFile(join(dir, "events.db"))))
    )
  )

const commandHistory: Benchmark = {
  name: "commands.history",
  run: async () => {
    const measured: Array<{ readonly length: number; readonly first: number; readonly p50: number; readonly p99: number; readonly coldP50: number }> = []
    // A pass to warm the JIT first, or the shortest stream (measured first) pays for it.
    await latencyAt(lengths[0]!)
    for (const length of lengths) measured.push({ length, ...(await latencyAt(length)) })
    const base = measured[0]!
    return measured.map(
      ({ length, first, p50, p99, coldP50 }): BenchResult =>
        result(
          `commands.history.${length}`,
          "commands/s",
          1000 / p50,
          1000 / base.p50,
          `one sender, RefineProfile through the command handler on SQLite, stream of ${length} events: p50/p99 ${p50.toFixed(2)}/${p99.toFixed(2)} ms; ` +
            `cold handler (snapshot + events after it) p50 ${coldP50.toFixed(2)} ms; first command on a stream written without snapshots ${first.toFixed(1)} ms; ` +
            `baseline the same at ${base.length} events (p50 ${base.p50.toFixed(2)} ms); ratio = p50 at ${base.length} / p50 here (aim at 100000: ≥ 0.5)`
        )
    )
  }
}

const noWatchdog: Watchdog = { watch: () => Effect.void, unwatch: () => Effect.void, watched: Effect.succeed([]), badSignals: Effect.succeed(0), latencyRises: Effect.succeed(0) }

/** A store of `events` events of which `live` instances are running, and what start-up takes on it (twice). */
const startupOn = (events: number, live: number) =>
  withTempDir((dir) => {
    const fake = makeFakeRuntime()
    const layers = CommandHandler.layer.pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          layerFile(join(dir, "events.db")),
          sqliteProjections.layer.pipe(Layer.provide(ReadModelDatabase.layer(join(dir, "readmodels.db")))),
          fakeRuntimeLayer(fake)
        )
      )
    )
    return runQuiet(
      Effect.gen(function* () {
        for (let i = 0; i < live; i++) {
          const instanceId = `shd-${i}` as InstanceId
          const spec = { clientId: `c${i}` as ClientId, tier: "basic" as const, template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 125, memoryMiB: 128 } }
          yield* EventStore.use((store) =>
            store.append(`instance-acme.${instanceId}`, "no_stream", [
              envelope({ _tag: "ShadowRequested", instanceId, ...spec }),
              envelope({ _tag: "InstanceStarted", instanceId, runtimeId: `rt-${i}` })
            ])
          )
          fake.instances.set(instanceId, { tenant: "acme", clientId: spec.clientId, instanceId, role: "shadow", runtimeId: `rt-${i}`, image: defaultTemplate.image, running: true, cpuMillis: 125, memoryMiB: 128 })
        }
        // History that is no longer live: archived telemetry, as the archiver writes it.
        const filler = Math.max(0, events - 2 * live)
        for (let done = 0; done < filler; done += 100 * batch) {
          yield* fill(`telemetry-acme.old-${done}`, 0, Math.min(100 * batch, filler - done), (i) =>
            envelope({ _tag: "TelemetryRecorded", instanceId: "old" as InstanceId, at: new Date(i * 1000).toISOString(), cpu: 0.1, memBytes: 1024, recordedAt: new Date(i * 1000).toISOString() })
          )
        }
        const start = Effect.gen(function* () {
          yield* catchUpLiveIndex
          yield* reconcile(noWatchdog, { natsUrl: "nats://127.0.0.1:4222", heartbeatMs: 1000 })
        })
        const firstStart = yield* timed(start)
        const nextStart = yield* timed(start)
        return { firstStart, nextStart }
      }).pipe(Effect.provide(layers))
    )
  })

const startupLive: Benchmark = {
  name: "startup",
  run: async () => {
    const empty = await startupOn(0, 0)
    const liveOnly = await startupOn(2 * liveInstances, liveInstances)
    const full = await startupOn(storedEvents, liveInstances)
    const notes =
      `live index caught up + ${liveInstances} running instances reconciled; with ${storedEvents} stored events ${full.nextStart.toFixed(0)} ms ` +
      `(the first start after they were written, folding them all into the index once: ${full.firstStart.toFixed(0)} ms); ` +
      `the same ${liveInstances} instances and no other history ${liveOnly.nextStart.toFixed(0)} ms; an empty store ${empty.nextStart.toFixed(1)} ms`
    return [
      result("startup.live", "starts/s", 1000 / full.nextStart, 1000 / empty.nextStart, `${notes}; baseline: the empty store`),
      result("startup.history", "starts/s", 1000 / full.nextStart, 1000 / liveOnly.nextStart, `${notes}; baseline: the same live instances without the history (ratio ≈ 1: history costs nothing)`)
    ]
  }
}

export const benchmarks: ReadonlyArray<Benchmark> = [commandHistory, startupLive]
