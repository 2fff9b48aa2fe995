import type { JsMsg } from "@nats-io/jetstream"

/** Where a stream's sequence and the time of storing sit among the dot-separated tokens of an ack subject. */
const tokensOf = (dots: number) =>
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>
  dots === 8 ? { seq: 5, nanos: 7 }
  // $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>.<token>
  : dots >= 11 ? { seq: 7, nanos: 9 }
  : undefined

/**
 * A message's stream sequence and when JetStream stored it (epoch ms), read off its ack subject for just
 * those two fields: nats.js's `info` splits and parses every field of it, a tenth of the cost of following
 * signals. Stream and consumer names hold no dots; any other subject is left to `info`.
 */
export const sequenceAndStoredAt = (msg: JsMsg): { readonly seq: number; readonly storedAtMs: number } => {
  // The ack subject, which nats.js's message keeps beside its interface.
  const reply = (msg as JsMsg & { readonly reply?: string }).reply ?? ""
  const starts = [0]
  for (let at = reply.indexOf("."); at !== -1; at = reply.indexOf(".", at + 1)) starts.push(at + 1)
  const place = reply.startsWith("$JS.ACK.") ? tokensOf(starts.length - 1) : undefined
  const token = (index: number) => Number(reply.slice(starts[index], starts[index + 1]! - 1))
  const seq = place === undefined ? Number.NaN : token(place.seq)
  const nanos = place === undefined ? Number.NaN : token(place.nanos)
  return Number.isSafeInteger(seq) && Number.isFinite(nanos)
    ? { seq, storedAtMs: Math.floor(nanos / 1e6) }
    : { seq: msg.seq, storedAtMs: Math.floor(msg.info.timestampNanos / 1e6) }
}
