import { Context, Effect, Layer } from "effect"
import type { SampleInput } from "../../projections/telemetryBuckets.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

/** A batch of decoded, attributed samples, and the UMBRA_SIGNALS sequence the checkpoint moves to with them. */
export interface TelemetryBatch {
  readonly inputs: ReadonlyArray<SampleInput>
  readonly throughSeq: number
}

/** Where the telemetry ingest's batches are folded into the read model. */
export class TelemetryApplier extends Context.Service<
  TelemetryApplier,
  {
    /**
     * Hands a batch over; the effect it returns waits for the batch to be applied. Batches apply in the
     * order they are handed over, so that the checkpoint only moves forward.
     */
    readonly submit: (batch: TelemetryBatch) => Effect.Effect<Effect.Effect<void, StoreUnavailable>, StoreUnavailable>
  }
>()("umbra/TelemetryApplier") {
  /** On the caller's fiber: the batch is applied before `submit` returns. */
  static readonly inThread = Layer.effect(
    TelemetryApplier,
    Effect.gen(function* () {
      const model = yield* TelemetryReadModel
      return TelemetryApplier.of({ submit: ({ inputs, throughSeq }) => model.apply(inputs, throughSeq).pipe(Effect.as(Effect.void)) })
    })
  )
}
