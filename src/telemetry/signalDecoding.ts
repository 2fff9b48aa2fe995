import { Effect, Schema } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { Heartbeat, TelemetrySample } from "../../domain/signals.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import type { DeliveredSignal } from "../eventBus.ts"

export type DecodedSignal =
  | { readonly kind: "hb"; readonly seq: number; readonly tenant: string; readonly heartbeat: Heartbeat }
  | { readonly kind: "tm"; readonly seq: number; readonly tenant: string; readonly sample: TelemetrySample }

const decodeHeartbeat = Schema.decodeUnknownResult(Schema.fromJsonString(Heartbeat))
const decodeSample = Schema.decodeUnknownResult(Schema.fromJsonString(TelemetrySample))
const text = new TextDecoder()

/**
 * A signal from UMBRA_SIGNALS decoded by its subject's kind, or undefined when it does not decode (or names
 * another instance than its subject): such signals are counted and dropped by the caller, never thrown.
 */
export const decodeSignal = (signal: DeliveredSignal): DecodedSignal | undefined => {
  const parts = parseSignalSubject(signal.subject)
  if (parts === undefined || !tokenPattern.test(parts.tenant)) return undefined
  const body = text.decode(signal.data)
  if (parts.kind === "hb") {
    const decoded = decodeHeartbeat(body)
    return decoded._tag === "Success" && decoded.success.instanceId === parts.instanceId
      ? { kind: "hb", seq: signal.seq, tenant: parts.tenant, heartbeat: decoded.success }
      : undefined
  }
  if (parts.kind === "tm") {
    const decoded = decodeSample(body)
    return decoded._tag === "Success" && decoded.success.instanceId === parts.instanceId
      ? { kind: "tm", seq: signal.seq, tenant: parts.tenant, sample: decoded.success }
      : undefined
  }
  return undefined
}

/** Decodes a batch, logging how many signals were dropped as undecodable. */
export const decodeBatch = (batch: ReadonlyArray<DeliveredSignal>, reader: string) =>
  Effect.gen(function* () {
    const decoded: Array<DecodedSignal> = []
    for (const signal of batch) {
      const one = decodeSignal(signal)
      if (one !== undefined) decoded.push(one)
    }
    const dropped = batch.length - decoded.length
    if (dropped > 0) yield* Effect.logWarning("dropped undecodable signals", { reader, dropped })
    return { decoded, dropped }
  })
