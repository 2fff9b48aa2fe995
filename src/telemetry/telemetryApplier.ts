import { Context, Effect, Layer } from "effect"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { applyTelemetryBatch, type BatchOutcome, type TelemetryBatch } from "./telemetryBatch.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

/** Where the telemetry ingest's batches are decoded and folded into the read model. */
export class TelemetryApplier extends Context.Service<
  TelemetryApplier,
  {
    /**
     * Hands a batch over; the effect it returns waits for the batch's outcome. Batches apply in the order
     * they are handed over, so that the checkpoint only moves forward.
     */
    readonly submit: (batch: TelemetryBatch) => Effect.Effect<Effect.Effect<BatchOutcome, StoreUnavailable>, StoreUnavailable>
  }
>()("umbra/TelemetryApplier") {
  /** On the caller's fiber: the batch is applied before `submit` returns. */
  static readonly inThread = Layer.effect(
    TelemetryApplier,
    Effect.gen(function* () {
      const model = yield* TelemetryReadModel
      return TelemetryApplier.of({
        submit: (batch) => applyTelemetryBatch(batch).pipe(Effect.provideService(TelemetryReadModel, model), Effect.map(Effect.succeed))
      })
    })
  )
}
