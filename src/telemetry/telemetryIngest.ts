import { Clock, Deferred, Effect, Fiber, Ref, Stream } from "effect"
import { resumingFromCheckpoint } from "../backoff.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { EventBus } from "../eventBus.ts"
import { attributeSamples } from "./sampleAttribution.ts"
import { decodeBatch } from "./signalDecoding.ts"
import { TelemetryApplier } from "./telemetryApplier.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

export interface IngestStatus {
  readonly applied: number
  readonly dropped: number
}

/** A batch writes each bucket it touches once: under a backlog, big batches write far fewer rows per sample. */
const batchSize = 20_000
/** Batches handed over and not yet applied: one being applied, the next ready to start when it is done. */
const handedOver = 2
/** How often old buckets are swept away: they are only a bound on the read model's size. */
const sweepEveryMs = 10 * 60_000

/**
 * Feeds telemetry from UMBRA_SIGNALS into the telemetry projection, in batches, from the sequence after
 * its checkpoint: rows and checkpoint commit together, so a restart neither loses nor double-counts.
 * Samples count for the client recorded for their instance; those of unknown instances are dropped.
 * While the applier folds a batch, the next ones are read, decoded and attributed.
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

  const follow = Effect.gen(function* () {
    const from = (yield* model.checkpoint()) + 1
    // A batch that fails to apply ends the follow (to resume from the checkpoint), even when no batch follows it.
    const broken = yield* Deferred.make<never, StoreUnavailable>()
    const inFlight = yield* Ref.make<ReadonlyArray<Fiber.Fiber<void>>>([])
    const handOver = Stream.runForEach(
      bus.followSignals({ filterSubject: "umbra.sig.*.*.tm", from }).pipe(Stream.groupedWithin(batchSize, "200 millis")),
      (batch) =>
        Effect.gen(function* () {
          const { decoded } = yield* decodeBatch(batch, "telemetry")
          const samples = decoded.filter((signal) => signal.kind === "tm")
          const inputs = yield* attributeSamples(samples)
          if (inputs.length < samples.length) {
            yield* Effect.logWarning("dropped samples of unknown instances", { dropped: samples.length - inputs.length })
          }
          const before = yield* Ref.get(inFlight)
          const waits = before.length >= handedOver
          if (waits) yield* Fiber.await(before[0]!)
          if (yield* Deferred.isDone(broken)) return yield* Deferred.await(broken)
          const applied = yield* applier.submit({ inputs, throughSeq: batch[batch.length - 1]!.seq })
          const settling = applied.pipe(
            Effect.andThen(Ref.update(status, (s) => ({ applied: s.applied + inputs.length, dropped: s.dropped + batch.length - inputs.length }))),
            Effect.catch((error) => Deferred.fail(broken, error)),
            Effect.asVoid
          )
          yield* Ref.set(inFlight, [...before.slice(waits ? 1 : 0), yield* Effect.forkScoped(settling)])
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
