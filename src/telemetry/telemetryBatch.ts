import { Effect } from "effect"
import { type TenantKey, tenantKey } from "../../domain/tenantKey.ts"
import type { SampleInput } from "../../projections/telemetryBuckets.ts"
import type { DeliveredSignal } from "../eventBus.ts"
import type { Attribution } from "./sampleAttribution.ts"
import { decodeSignals } from "./signalDecoding.ts"
import { TelemetryReadModel } from "./telemetryReadModel.ts"

/** A batch of telemetry signals read from UMBRA_SIGNALS, with whom its instances' samples count for. */
export interface TelemetryBatch {
  readonly signals: ReadonlyArray<DeliveredSignal>
  readonly attribution: Attribution
  /** The clock's time when the batch was read, and how far a signal's time may be from when it was stored. */
  readonly nowMs: number
  readonly skewMs: number
}

/** What became of a batch's signals. */
export interface BatchOutcome {
  readonly applied: number
  readonly undecodable: number
  readonly untimely: number
  /** Samples of instances Umbra never requested. */
  readonly unattributed: number
}

/**
 * Decodes a batch and folds its samples into the telemetry read model, moving its checkpoint to the
 * batch's last sequence in the same transaction.
 */
export const applyTelemetryBatch = ({ signals, attribution, nowMs, skewMs }: TelemetryBatch) =>
  Effect.gen(function* () {
    const { decoded, undecodable, untimely } = decodeSignals(signals, nowMs, skewMs)
    const inputs: Array<SampleInput> = []
    for (const signal of decoded) {
      // The ingest follows `.tm` subjects, which decode only as samples.
      if (signal.kind !== "tm") continue
      const instanceKey = tenantKey(signal.tenant, signal.sample.instanceId)
      const client = attribution.get(instanceKey)
      if (client !== undefined) inputs.push({ sample: signal.sample, atMs: signal.atMs, instanceKey, clientKey: (client ?? undefined) as TenantKey | undefined })
    }
    yield* (yield* TelemetryReadModel).apply(inputs, signals[signals.length - 1]!.seq)
    return { applied: inputs.length, undecodable, untimely, unattributed: decoded.length - inputs.length } satisfies BatchOutcome
  })
