import { jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect, createInbox, headers, type NatsConnection } from "@nats-io/transport-node"
import { randomUUID } from "node:crypto"

/**
 * The raw reference for publishing to JetStream, with no Umbra code: a file-backed stream of its own
 * (so the relay's streams stay clean), `count` messages of `payloadBytes` with a random UUID for
 * `Nats-Msg-Id` each, as an event id is (the server's dedupe work is part of the cost), at most `window`
 * unacknowledged, the replies counted on one inbox subscription (the fastest publisher on 2.9,
 * FIELD-NOTES). `subjectTail(n)`, when given, puts message n on a subject of its own under the stream's
 * root (the server keeps state per subject), and `header` goes on every message beside the id; the ids and
 * subjects are made before the clock starts.
 */
export const rawJetStreamPublish = async (
  url: string,
  count: number,
  window: number,
  options: { readonly payloadBytes?: number; readonly timeoutMs?: number; readonly subjectTail?: (n: number) => string; readonly header?: readonly [string, string] } = {}
): Promise<{ perSecond: number }> => {
  const total = Math.max(1, Math.min(count, 2_000_000))
  const timeoutMs = options.timeoutMs ?? 120_000
  const stream = `BENCH_RAW_${Date.now()}`
  // A root as long as the relay's `umbra.evt`; each round deletes its stream, so rounds can share the subjects.
  const subject = "bench.raw"
  const nc = await connect({ servers: url, noAsyncTraces: true })
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: stream, subjects: [subject, `${subject}.>`], storage: StorageType.File, duplicate_window: 600e9 })
    try {
      const payload = new Uint8Array(options.payloadBytes ?? 400).fill(120)
      const tail = options.subjectTail
      const messages = Array.from({ length: total }, (_, n) => ({ subject: tail === undefined ? subject : `${subject}.${tail(n)}`, id: randomUUID() }))
      const started = performance.now()
      await publishAll(nc, messages, payload, options.header, window, timeoutMs)
      return { perSecond: total / ((performance.now() - started) / 1_000) }
    } finally {
      await jsm.streams.delete(stream)
    }
  } finally {
    await nc.drain()
  }
}

const publishAll = (
  nc: NatsConnection,
  messages: ReadonlyArray<{ readonly subject: string; readonly id: string }>,
  payload: Uint8Array,
  header: readonly [string, string] | undefined,
  window: number,
  timeoutMs: number
): Promise<void> =>
  new Promise((resolve, reject) => {
    const inbox = createInbox()
    const total = messages.length
    let sent = 0
    let acked = 0
    const finish = (error?: Error) => {
      clearTimeout(timer)
      sub.unsubscribe()
      if (error === undefined) resolve()
      else reject(error)
    }
    const pump = () => {
      while (sent - acked < window && sent < total) {
        const { subject, id } = messages[sent]!
        const h = headers()
        h.set("Nats-Msg-Id", id)
        if (header !== undefined) h.set(header[0], header[1])
        nc.publish(subject, payload, { reply: inbox, headers: h })
        sent++
      }
    }
    const sub = nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error !== null) return finish(error)
        if (msg.headers?.hasError === true || msg.string().includes("\"error\"")) {
          return finish(new Error(`publish failed: ${msg.string()}`))
        }
        acked++
        if (acked === total) return finish()
        pump()
      }
    })
    const timer = setTimeout(() => finish(new Error(`raw publish did not finish in ${timeoutMs} ms`)), timeoutMs)
    pump()
  })
