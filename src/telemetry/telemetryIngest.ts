import { Clock, Effect, Ref, Stream } from "effect"
import { resumingFromCheckpoint } from "../backoff.ts"
import { EventBus } from "../eventBus.ts"
import { attributeSamples } from "./sampleAttribution.ts"
import { decodeBatch } from "./signalDecoding.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

export interface IngestStatus {
  readonly applied: number
  readonly dropped: number
}

/** A batch writes each bucket it touches once: under a backlog, big batches write far fewer rows per sample. */
const batchSize = 10_000
/** How often old buckets are swept away: they are only a bound on the read model's size. */
const sweepEveryMs = 10 * 60_000

/**
 * Feeds telemetry from UMBRA_SIGNALS into the telemetry projection, in batches, from the sequence after
 * its checkpoint: rows and checkpoint commit together, so a restart neither loses nor double-counts.
 * Samples count for the client recorded for their instance; those of unknown instances are dropped.
 */
export const makeTelemetryIngest = Effect.gen(function* () {
  const bus = yield* EventBus
  const model = yield* TelemetryReadModel
  const status = yield* Ref.make<IngestStatus>({ applied: 0, dropped: 0 })
  const lastSweep = yield* Ref.make(0)

  const sweepIfDue = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    if (now - (yield* Ref.get(lastSweep)) < sweepEveryMs) return
    yield* Ref.set(lastSweep, now)
    const series = yield* model.prune(now)
    yield* Effect.logDebug("telemetry buckets swept", { series })
  })

  const follow = Effect.gen(function* () {
    const from = (yield* model.checkpoint()) + 1
    yield* bus.followSignals({ filterSubject: "umbra.sig.*.*.tm", from }).pipe(
      Stream.groupedWithin(batchSize, "200 millis"),
      Stream.runForEach((batch) =>
        Effect.gen(function* () {
          const { decoded } = yield* decodeBatch(batch, "telemetry")
          const samples = decoded.filter((signal) => signal.kind === "tm")
          const inputs = yield* attributeSamples(samples)
          if (inputs.length < samples.length) {
            yield* Effect.logWarning("dropped samples of unknown instances", { dropped: samples.length - inputs.length })
          }
          yield* model.apply(inputs, batch[batch.length - 1]!.seq)
          yield* Ref.update(status, (s) => ({ applied: s.applied + inputs.length, dropped: s.dropped + batch.length - inputs.length }))
          yield* sweepIfDue
        })
      )
    )
  })

  return {
    run: resumingFromCheckpoint("telemetry-ingest")(follow),
    status: Ref.get(status)
  }
})
