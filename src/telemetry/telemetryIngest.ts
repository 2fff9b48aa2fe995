import { Clock, Deferred, Effect, Fiber, Ref, Stream } from "effect"
import { resumingFromCheckpoint } from "../backoff.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { EventBus } from "../eventBus.ts"
import { attributeInstances } from "./sampleAttribution.ts"
import { logDropped, SignalClockSkew } from "./signalDecoding.ts"
import { TelemetryApplier } from "./telemetryApplier.ts"
import type { BatchOutcome } from "./telemetryBatch.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

export interface IngestStatus {
  readonly applied: number
  readonly dropped: number
}

/** A batch writes each bucket it touches once: under a backlog, big batches write far fewer rows per sample. */
const batchSize = 40_000
/** How often old buckets are swept away: they are only a bound on the read model's size. */
const sweepEveryMs = 10 * 60_000

/**
 * Feeds telemetry from UMBRA_SIGNALS into the telemetry projection, in batches, from the sequence after
 * its checkpoint: rows and checkpoint commit together, so a restart neither loses nor double-counts.
 * Samples count for the client recorded for their instance; those of unknown instances are dropped.
 * The applier decodes and folds a batch while the next one is read and attributed.
 */
export const makeTelemetryIngest = Effect.gen(function* () {
  const bus = yield* EventBus
  const model = yield* TelemetryReadModel
  const applier = yield* TelemetryApplier
  const status = yield* Ref.make<IngestStatus>({ applied: 0, dropped: 0 })
  const lastSweep = yield* Ref.make(0)

  const sweepIfDue = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    if (now - (yield* Ref.get(lastSweep)) < sweepEveryMs) return
    yield* Ref.set(lastSweep, now)
    const series = yield* model.prune(now)
    yield* Effect.logDebug("telemetry buckets swept", { series })
  })

  const recorded = (outcome: BatchOutcome) =>
    Effect.gen(function* () {
      yield* logDropped("telemetry", outcome)
      if (outcome.unattributed > 0) yield* Effect.logWarning("dropped samples of unknown instances", { dropped: outcome.unattributed })
      const dropped = outcome.undecodable + outcome.untimely + outcome.unattributed
      yield* Ref.update(status, (s) => ({ applied: s.applied + outcome.applied, dropped: s.dropped + dropped }))
    })

  const follow = Effect.gen(function* () {
    const from = (yield* model.checkpoint()) + 1
    const skewMs = yield* SignalClockSkew
    // A batch that fails to apply ends the follow (to resume from the checkpoint), even when no batch follows it.
    const broken = yield* Deferred.make<never, StoreUnavailable>()
    const applying = yield* Ref.make<Fiber.Fiber<void> | undefined>(undefined)
    const handOver = Stream.runForEach(
      bus.followSignals({ filterSubject: "umbra.sig.*.*.tm", from }).pipe(Stream.groupedWithin(batchSize, "200 millis")),
      (signals) =>
        Effect.gen(function* () {
          const attribution = yield* attributeInstances(signals)
          // Handed over only once the batch before it has applied: none may commit its checkpoint past one that failed.
          const before = yield* Ref.get(applying)
          if (before !== undefined) yield* Fiber.await(before)
          if (yield* Deferred.isDone(broken)) return yield* Deferred.await(broken)
          const outcome = yield* applier.submit({ signals, attribution, nowMs: yield* Clock.currentTimeMillis, skewMs })
          const settling = outcome.pipe(
            Effect.flatMap(recorded),
            Effect.catch((error) => Deferred.fail(broken, error)),
            Effect.asVoid
          )
          yield* Ref.set(applying, yield* Effect.forkScoped(settling))
          yield* sweepIfDue
        })
    )
    yield* Effect.raceFirst(handOver, Deferred.await(broken))
  }).pipe(Effect.scoped)

  return {
    run: resumingFromCheckpoint("telemetry-ingest")(follow),
    status: Ref.get(status)
  }
})
