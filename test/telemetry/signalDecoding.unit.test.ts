import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { decodeBatch, decodeSignal, SignalClockSkew } from "../../src/telemetry/signalDecoding.ts"

const encoder = new TextEncoder()
const signal = (subject: string, body: string) => ({ seq: 1, subject, data: encoder.encode(body) })
const sample = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ instanceId: "shd-1", at: "2026-12-02T12:00:00.000Z", cpu: 0.5, memBytes: 1024, ...fields })

describe("signal decoding", () => {
  it("decodes a good sample and heartbeat", () => {
    assert.strictEqual(decodeSignal(signal("umbra.sig.acme.shd-1.tm", sample({ metrics: { requests: 7 } })))?.kind, "tm")
    const beat = JSON.stringify({ instanceId: "shd-1", seq: 3, at: "2026-12-02T12:00:00Z", ready: true })
    assert.strictEqual(decodeSignal(signal("umbra.sig.acme.shd-1.hb", beat))?.kind, "hb")
  })

  it("reads a body as the bytes it is, within a larger buffer as NATS delivers it, with or without a byte order mark", () => {
    const delivered = (bytes: Uint8Array) => {
      const buffer = new Uint8Array(bytes.length + 20).fill(0x7b)
      buffer.set(bytes, 10)
      return { seq: 1, subject: "umbra.sig.acme.shd-1.tm", data: buffer.subarray(10, 10 + bytes.length) }
    }
    // A name with a letter of two bytes is read whole, and left out as no name a metric may have.
    const body = encoder.encode(sample({ metrics: { requests: 2, réponses: 1 } }))
    for (const bytes of [body, new Uint8Array([0xef, 0xbb, 0xbf, ...body])]) {
      const decoded = decodeSignal(delivered(bytes))
      assert.deepStrictEqual(decoded?.kind === "tm" ? decoded.sample.metrics : undefined, { requests: 2 })
    }
    // A byte that is no UTF-8 is read as U+FFFD.
    const broken = new Uint8Array([...encoder.encode(sample().slice(0, -1)), ...encoder.encode(',"metrics":{"r'), 0xff, ...encoder.encode('":1,"requests":3}}')])
    const decoded = decodeSignal(delivered(broken))
    assert.deepStrictEqual(decoded?.kind === "tm" ? decoded.sample.metrics : undefined, { requests: 3 })
  })

  it("drops hostile signals: a time that is none, numbers past Infinity or any machine, a tenant that is no token, a flood of metrics", () => {
    const hostile = [
      signal("umbra.sig.acme.shd-1.tm", sample({ at: "not a date" })),
      signal("umbra.sig.acme.shd-1.tm", sample({ at: "2026-13-45T99:99:99Z" })),
      // JSON.parse reads 1e999 as Infinity.
      signal("umbra.sig.acme.shd-1.tm", sample({ cpu: 1 }).replace('"cpu":1', '"cpu":1e999')),
      signal("umbra.sig.acme.shd-1.tm", sample({ memBytes: -1 })),
      signal("umbra.sig.acme.shd-1.tm", sample({ cpu: 1e9 })),
      signal(`umbra.sig.${"t".repeat(300)}.shd-1.tm`, sample()),
      signal("umbra.sig.acme.shd-1.tm", sample({ metrics: Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`m${i}`, i])) })),
      signal("umbra.sig.acme.shd-1.tm", sample({ metrics: { big: 1 } }).replace('"big":1', '"big":1e999')),
      signal("umbra.sig.acme.shd-1.hb", JSON.stringify({ instanceId: "shd-1", seq: 1, at: "yesterday", ready: true }))
    ]
    for (const bad of hostile) assert.isUndefined(decodeSignal(bad), new TextDecoder().decode(bad.data).slice(0, 120))
  })

  it("keeps only metrics with a name it can store", () => {
    const decoded = decodeSignal(signal("umbra.sig.acme.shd-1.tm", sample({ metrics: { "bad name!": 1, requests: 2 } })))
    assert.deepStrictEqual(decoded?.kind === "tm" ? decoded.sample.metrics : undefined, { requests: 2 })
  })

  it.effect("drops and counts a signal whose time is further from the receiver's clock than the configured skew", () =>
    Effect.gen(function* () {
      const now = Date.parse("2026-12-02T12:00:00.000Z")
      yield* TestClock.setTime(now)
      const at = (offsetMs: number) => new Date(now + offsetMs).toISOString()
      const day = 24 * 60 * 60_000
      const batch = [
        signal("umbra.sig.acme.shd-1.tm", sample({ at: at(0) })),
        signal("umbra.sig.acme.shd-1.tm", sample({ at: at(-4 * 60_000) })),
        signal("umbra.sig.acme.shd-1.tm", sample({ at: at(day) })),
        signal("umbra.sig.acme.shd-1.tm", sample({ at: at(-day) })),
        signal("umbra.sig.acme.shd-1.hb", JSON.stringify({ instanceId: "shd-1", seq: 1, at: at(day), ready: true }))
      ]
      const byDefault = yield* decodeBatch(batch, "test")
      assert.strictEqual(byDefault.decoded.length, 2)
      assert.strictEqual(byDefault.dropped, 3)
      const wider = yield* decodeBatch(batch, "test").pipe(Effect.provideService(SignalClockSkew, 2 * day))
      assert.strictEqual(wider.dropped, 0)
      const none = yield* decodeBatch(batch, "test").pipe(Effect.provideService(SignalClockSkew, 0))
      assert.strictEqual(none.dropped, 4)
    }))

  it.effect("judges a signal's time against when JetStream stored it: a backlog read a day later is kept", () =>
    Effect.gen(function* () {
      const storedAt = Date.parse("2026-12-02T12:00:00.000Z")
      yield* TestClock.setTime(storedAt + 24 * 60 * 60_000)
      const stored = (at: number) => ({ ...signal("umbra.sig.acme.shd-1.tm", sample({ at: new Date(at).toISOString() })), storedAt })
      const { decoded, dropped } = yield* decodeBatch([stored(storedAt - 1_000), stored(storedAt + 60 * 60_000)], "test")
      assert.strictEqual(decoded.length, 1)
      assert.strictEqual(dropped, 1)
    }))
})
