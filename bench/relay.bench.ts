/**
 * The relay: events already in the SQLite store published to JetStream (window 100), next to a bare
 * pipelined JetStream publish loop of the same messages (window, count, payload size, the relay's subjects
 * under a root of its own, a UUID message id and the event's type for headers), in the same run, both in
 * several rounds.
 */
import { Effect, Layer, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { NewEvent } from "../domain/envelope.ts"
import { subjects } from "../domain/subjects.ts"
import { layerFile } from "../infra/eventStore/sqliteEventStore.ts"
import * as natsConnection from "../infra/nats/connection.ts"
import * as jetstreamSetup from "../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../infra/nats/natsEventBus.ts"
import { layer as memoryCheckpoints } from "../infra/readModels/memoryCheckpoints.ts"
import { EventStore } from "../src/eventStore/eventStore.ts"
import { makeRelay } from "../src/relay.ts"
import { startTestNatsServer } from "../test/harness/natsServer.ts"
import { runQuiet } from "./runQuiet.ts"
import { type Benchmark, mean, result } from "./benchmark.ts"
import { cpuPerUnit, measureCpu, startCpu, totalCpu } from "./cpuTime.ts"
import { rawJetStreamPublish } from "./jetstreamPublish.ts"

const count = 30_000
const window = 100
const rounds = 3

const newEvent = (n: number): NewEvent => ({
  id: randomUUID(),
  type: "ProfileRefined",
  at: new Date().toISOString(),
  tenant: "acme",
  correlationId: randomUUID(),
  causationId: randomUUID(),
  schemaVersion: 1,
  data: { clientId: `c${n % 500}`, expected: { cpuMillis: 1000 + n, memoryMiB: 2048, storageGiB: 20 }, reason: "forecast" }
})

/** Events go to streams of 100: the stream of event n. */
const streamOf = (n: number) => `profile-acme.c${n - (n % 100)}`

const relayRate = (url: string, serverPid: number, file: string) =>
  runQuiet(
    Effect.gen(function* () {
      const store = yield* EventStore
      for (let i = 0; i < count; i += 100) {
        yield* store.append(streamOf(i), "no_stream", Array.from({ length: 100 }, (_, k) => newEvent(i + k)))
      }
      const relay = yield* makeRelay
      const started = performance.now()
      const cpuSince = startCpu(serverPid)
      yield* Effect.forkScoped(relay.run)
      yield* relay.status.pipe(
        Effect.repeat({ until: (status) => status.published >= count, schedule: Schedule.spaced("5 millis") }),
        Effect.timeout("120 seconds")
      )
      return { perSecond: (count * 1000) / (performance.now() - started), cpu: cpuSince() }
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.mergeAll(
          layerFile(file),
          memoryCheckpoints,
          natsEventBus.layer({ publishWindow: window }).pipe(
            Layer.provideMerge(jetstreamSetup.layer()),
            Layer.provide(natsConnection.layer({ url, name: "umbra-bench" }))
          )
        )
      )
    )
  )

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "relay",
    run: async () => {
      const nats = await startTestNatsServer()
      const dir = mkdtempSync(join(tmpdir(), "umbra-bench-"))
      try {
        const envelopeBytes = Buffer.byteLength(JSON.stringify({ ...newEvent(1), stream: "profile-acme.c1", revision: 0, position: "0".repeat(20) }))
        // The raw loop's subjects are the relay's with its own root in place of `umbra.evt`.
        const subjectTail = (n: number) => subjects.event({ stream: streamOf(n), tenant: "acme" }).slice("umbra.evt.".length)
        const raw = () => measureCpu(nats.pid(), () => rawJetStreamPublish(nats.url, count, window, { payloadBytes: envelopeBytes, subjectTail, header: ["Umbra-Type", newEvent(0).type] }))
        // A round of each first, not counted: both are measured with their code compiled, as a relay that
        // runs for months is (uncounted, the first raw loop cost twice the CPU per event of a later one).
        await raw()
        await relayRate(nats.url, nats.pid(), join(dir, "warm.db"))
        // Rounds of raw and relay alternated, and a raw round after the last, so that load from other
        // processes falls on both alike.
        const raws = [await raw()]
        const relays: Array<Awaited<ReturnType<typeof relayRate>>> = []
        for (let round = 0; round < rounds; round++) {
          relays.push(await relayRate(nats.url, nats.pid(), join(dir, `events-${round}.db`)))
          raws.push(await raw())
        }
        const rates = (runs: ReadonlyArray<{ readonly perSecond: number }>) => runs.map((run) => Math.round(run.perSecond)).join("/")
        return [
          result(
            "relay",
            "events/s",
            mean(relays.map((run) => run.perSecond)),
            mean(raws.map((run) => run.value.perSecond)),
            `${count} stored events of ~${envelopeBytes} B, window ${window}; ${rounds} relay rounds between ${rounds + 1} rounds of a raw pipelined publish, after one uncounted round of each; means ` +
              `(relay ${rates(relays)}, raw ${rates(raws.map((run) => run.value))}); ` +
              `CPU per event: relay ${cpuPerUnit(totalCpu(relays.map((run) => run.cpu)), count * rounds)} (its publish loop only, not the appends before it); ` +
              `raw ${cpuPerUnit(totalCpu(raws.map((run) => run.cpu)), count * (rounds + 1))}`
          )
        ]
      } finally {
        await nats.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
]
