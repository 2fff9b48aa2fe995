import { Clock, Context, Effect } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { Heartbeat, TelemetrySample } from "../../domain/signals.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import type { DeliveredSignal } from "../eventBus.ts"
import { compiledDecoder } from "../../domain/compiledDecoder.ts"

/** A decoded signal, with its `at` as epoch milliseconds (parsed once, here). */
export type DecodedSignal =
  | { readonly kind: "hb"; readonly seq: number; readonly tenant: string; readonly atMs: number; readonly heartbeat: Heartbeat }
  | { readonly kind: "tm"; readonly seq: number; readonly tenant: string; readonly atMs: number; readonly sample: TelemetrySample }

// Every signal is decoded with its schema's own filters; the compiled decoders skip the interpreter's cost.
const decodeHeartbeat = compiledDecoder(Heartbeat)
const decodeSample = compiledDecoder(TelemetrySample)
/** A UTF-8 byte order mark, which a body may start with (and TextDecoder would drop). */
const hasBom = (data: Uint8Array) => data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf

/**
 * The body as JSON, or undefined. Parsed apart from the schema, which halves the cost of decoding a sample.
 * A body NATS delivers is a view of a larger buffer: read as a Buffer over the same bytes, it decodes in a
 * third of TextDecoder's time (invalid bytes become U+FFFD in either).
 */
const parsed = (data: Uint8Array): unknown => {
  const start = hasBom(data) ? 3 : 0
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset + start, data.byteLength - start).toString("utf8"))
  } catch {
    return undefined
  }
}

/**
 * A signal from UMBRA_SIGNALS decoded by its subject's kind, or undefined when it does not decode (or names
 * another instance than its subject): such signals are counted and dropped by the caller, never thrown.
 */
export const decodeSignal = (signal: DeliveredSignal): DecodedSignal | undefined => {
  const parts = parseSignalSubject(signal.subject)
  if (parts === undefined || !tokenPattern.test(parts.tenant)) return undefined
  const body = parsed(signal.data)
  if (parts.kind === "hb") {
    const decoded = decodeHeartbeat(body)
    return decoded._tag === "Success" && decoded.success.instanceId === parts.instanceId
      ? { kind: "hb", seq: signal.seq, tenant: parts.tenant, atMs: Date.parse(decoded.success.at), heartbeat: decoded.success }
      : undefined
  }
  if (parts.kind === "tm") {
    const decoded = decodeSample(body)
    return decoded._tag === "Success" && decoded.success.instanceId === parts.instanceId
      ? { kind: "tm", seq: signal.seq, tenant: parts.tenant, atMs: Date.parse(decoded.success.at), sample: decoded.success }
      : undefined
  }
  return undefined
}

/** The default of `UMBRA_SIGNAL_CLOCK_SKEW_MS`: a few minutes covers clocks kept by NTP and a short backlog. */
export const defaultSignalClockSkewMs = 5 * 60_000

/**
 * How far a signal's `at` may be from the receiver's clock, in milliseconds: a time far off (a broken
 * clock, or a forged one) would file a sample under another day's buckets and archive it out of its retention.
 */
export const SignalClockSkew = Context.Reference<number>("umbra/SignalClockSkew", { defaultValue: () => defaultSignalClockSkewMs })

/** A batch's signals that decode and are on time, and how many were dropped for either reason. */
export interface DecodedBatch {
  readonly decoded: ReadonlyArray<DecodedSignal>
  readonly undecodable: number
  readonly untimely: number
}

/**
 * Decodes a batch, keeping the signals whose time is within `skewMs` of when JetStream stored them (of
 * `nowMs`, for a signal that does not say). Judged against the time of storing, a backlog read after a
 * long stop is kept.
 */
export const decodeSignals = (batch: ReadonlyArray<DeliveredSignal>, nowMs: number, skewMs: number): DecodedBatch => {
  const decoded: Array<DecodedSignal> = []
  let undecodable = 0
  for (const signal of batch) {
    const one = decodeSignal(signal)
    if (one === undefined) undecodable++
    else if (Math.abs(one.atMs - (signal.storedAt ?? nowMs)) <= skewMs) decoded.push(one)
  }
  return { decoded, undecodable, untimely: batch.length - decoded.length - undecodable }
}

/** Logs what a reader dropped of a batch, if anything. */
export const logDropped = (reader: string, { undecodable, untimely }: Omit<DecodedBatch, "decoded">) =>
  undecodable + untimely > 0 ? Effect.logWarning("dropped signals", { reader, dropped: undecodable + untimely, undecodable, untimely }) : Effect.void

/** `decodeSignals` at the clock's time and within `SignalClockSkew`, logging how many were dropped. */
export const decodeBatch = (batch: ReadonlyArray<DeliveredSignal>, reader: string) =>
  Effect.gen(function* () {
    const result = decodeSignals(batch, yield* Clock.currentTimeMillis, yield* SignalClockSkew)
    yield* logDropped(reader, result)
    return { decoded: result.decoded, dropped: result.undecodable + result.untimely }
  })
