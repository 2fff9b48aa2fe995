import { Effect, Ref, Stream } from "effect"
import { resumingFromCheckpoint } from "../backoff.ts"
import { EventBus } from "../eventBus.ts"
import { attributeSamples } from "./sampleAttribution.ts"
import { decodeBatch } from "./signalDecoding.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

export interface IngestStatus {
  readonly applied: number
  readonly dropped: number
}

/**
 * Feeds telemetry from UMBRA_SIGNALS into the telemetry read model, in batches, from the sequence after
 * its checkpoint: rows and checkpoint commit together, so a restart neither loses nor double-counts.
 * Samples count for the client recorded for their instance; those of unknown instances are dropped.
 */
export const makeTelemetryIngest = Effect.gen(function* () {
  const bus = yield* EventBus
  const model = yield* TelemetryReadModel
  const status = yield* Ref.make<IngestStatus>({ applied: 0, dropped: 0 })

  const follow = Effect.gen(function* () {
    const from = (yield* model.checkpoint()) + 1
    yield* bus.followSignals({ filterSubject: "umbra.sig.*.*.tm", from }).pipe(
      Stream.groupedWithin(1_000, "200 millis"),
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
        })
      )
    )
  })

  return {
    run: resumingFromCheckpoint("telemetry-ingest")(follow),
    status: Ref.get(status)
  }
})
