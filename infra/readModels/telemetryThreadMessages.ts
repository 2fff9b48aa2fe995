import type { TelemetryBatch } from "../../src/telemetry/telemetryBatch.ts"

/**
 * A batch as it crosses to the applier thread: the signals' numbers and bodies in buffers that are moved,
 * not copied. A body NATS delivers is a view of a larger buffer, which would be cloned whole.
 */
export interface PackedBatch {
  readonly id: number
  readonly seqs: Float64Array
  /** NaN for a signal that does not say when it was stored. */
  readonly storedAts: Float64Array
  readonly subjects: ReadonlyArray<string>
  /** Where each body ends in `bodies`; the first starts at 0. */
  readonly ends: Uint32Array
  readonly bodies: Uint8Array
  readonly attribution: ReadonlyArray<readonly [string, string | null]>
  readonly nowMs: number
  readonly skewMs: number
}

export const packBatch = (id: number, { signals, attribution, nowMs, skewMs }: TelemetryBatch): { readonly packed: PackedBatch; readonly transfer: ReadonlyArray<ArrayBuffer> } => {
  const seqs = new Float64Array(signals.length)
  const storedAts = new Float64Array(signals.length)
  const ends = new Uint32Array(signals.length)
  const bodies = new Uint8Array(signals.reduce((size, signal) => size + signal.data.length, 0))
  let at = 0
  signals.forEach((signal, i) => {
    seqs[i] = signal.seq
    storedAts[i] = signal.storedAt ?? Number.NaN
    bodies.set(signal.data, at)
    at += signal.data.length
    ends[i] = at
  })
  return {
    packed: { id, seqs, storedAts, subjects: signals.map((signal) => signal.subject), ends, bodies, attribution: [...attribution], nowMs, skewMs },
    transfer: [seqs.buffer, storedAts.buffer, ends.buffer, bodies.buffer]
  }
}

export const unpackBatch = ({ seqs, storedAts, subjects, ends, bodies, attribution, nowMs, skewMs }: PackedBatch): TelemetryBatch => ({
  signals: subjects.map((subject, i) => {
    const data = bodies.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!)
    return Number.isNaN(storedAts[i]!) ? { seq: seqs[i]!, subject, data } : { seq: seqs[i]!, subject, data, storedAt: storedAts[i]! }
  }),
  attribution: new Map(attribution),
  nowMs,
  skewMs
})
