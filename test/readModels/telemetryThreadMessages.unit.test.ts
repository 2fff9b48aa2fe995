import { assert, describe, it } from "@effect/vitest"
import { packBatch, unpackBatch } from "../../infra/readModels/telemetryThreadMessages.ts"

describe("telemetry batches crossing to the applier thread", () => {
  it("arrive as they were sent: sequences, subjects, bodies, storing times, attribution and clock", () => {
    const encoder = new TextEncoder()
    // Bodies as NATS delivers them: views of one larger buffer, which must not cross whole.
    const received = new Uint8Array(64 * 1024)
    const body = (at: number, text: string) => {
      received.set(encoder.encode(text), at)
      return received.subarray(at, at + encoder.encode(text).length)
    }
    const signals = [
      { seq: 7, subject: "umbra.sig.acme.shd-1.tm", data: body(100, '{"cpu":1}'), storedAt: 1_700_000_000_123 },
      { seq: 8, subject: "umbra.sig.acme.shd-2.tm", data: body(5_000, "{}") },
      { seq: 9, subject: "umbra.sig.beta.shd-1.tm", data: body(9_000, '{"naïve":"é"}'), storedAt: 1_700_000_000_456 }
    ]
    const batch = { signals, attribution: new Map([["acme.shd-1", "acme.c1"], ["acme.shd-2", null]]), nowMs: 1_700_000_001_000, skewMs: 300_000 }
    const { packed, transfer } = packBatch(3, batch)
    assert.strictEqual(packed.bodies.byteLength, signals.reduce((size, signal) => size + signal.data.length, 0))
    const unpacked = unpackBatch(structuredClone(packed, { transfer: [...transfer] }))
    assert.deepStrictEqual(
      { ...unpacked, signals: unpacked.signals.map((signal) => ({ ...signal, data: Array.from(signal.data) })) },
      { ...batch, signals: signals.map((signal) => ({ ...signal, data: Array.from(signal.data) })) }
    )
  })
})
