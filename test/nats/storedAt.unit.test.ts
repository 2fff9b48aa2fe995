import { assert, describe, it } from "@effect/vitest"
import type { JsMsg } from "@nats-io/jetstream"
import { sequenceAndStoredAt } from "../../infra/nats/storedAt.ts"

/** A message with this ack subject whose nats.js parse, when asked for, says `info`. */
const message = (reply: string, info = { streamSequence: -1, timestampNanos: -1 }) => {
  let parsed = 0
  const msg = { reply, get seq() { parsed++; return info.streamSequence }, get info() { parsed++; return info } } as unknown as JsMsg
  return { msg, parsed: () => parsed }
}

describe("a stream sequence and time of storing from an ack subject", () => {
  it("reads both forms of the subject without nats.js's parse", () => {
    const old = message("$JS.ACK.UMBRA_SIGNALS.c1.1.4242.17.1764936000123456789.9")
    assert.deepStrictEqual(sequenceAndStoredAt(old.msg), { seq: 4242, storedAtMs: 1764936000123 })
    const withDomain = message("$JS.ACK._.ABCHASH.UMBRA_SIGNALS.ordered_x1.2.7.3.1764936000999000000.0.zq81")
    assert.deepStrictEqual(sequenceAndStoredAt(withDomain.msg), { seq: 7, storedAtMs: 1764936000999 })
    assert.strictEqual(old.parsed() + withDomain.parsed(), 0)
  })

  it("leaves any other subject to nats.js", () => {
    for (const reply of ["", "_INBOX.x.y", "$JS.ACK.S.c.1.x.2.3.4", "$JS.ACK.S.c.1.2"]) {
      const other = message(reply, { streamSequence: 5, timestampNanos: 2_000_000 })
      assert.deepStrictEqual(sequenceAndStoredAt(other.msg), { seq: 5, storedAtMs: 2 }, reply)
      assert.isAbove(other.parsed(), 0)
    }
  })
})
