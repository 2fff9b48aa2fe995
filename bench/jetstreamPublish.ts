import { jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect, createInbox, headers, type NatsConnection } from "@nats-io/transport-node"

/**
 * The raw reference for publishing to JetStream, with no Umbra code: a file-backed stream of its own
 * (so the relay's streams stay clean), `count` messages of `payloadBytes` with a unique `Nats-Msg-Id`
 * each (the server's dedupe work is part of the cost), at most `window` unacknowledged, the replies
 * counted on one inbox subscription (the fastest publisher on 2.9, FIELD-NOTES).
 */
export const rawJetStreamPublish = async (
  url: string,
  count: number,
  window: number,
  options: { readonly payloadBytes?: number; readonly timeoutMs?: number } = {}
): Promise<{ perSecond: number }> => {
  const total = Math.max(1, Math.min(count, 2_000_000))
  const timeoutMs = options.timeoutMs ?? 120_000
  const stream = `BENCH_RAW_${Date.now()}`
  const subject = `bench.raw.${stream}`
  const nc = await connect({ servers: url, noAsyncTraces: true })
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, duplicate_window: 600e9 })
    try {
      const payload = new Uint8Array(options.payloadBytes ?? 400).fill(120)
      const started = performance.now()
      await publishAll(nc, subject, payload, total, window, timeoutMs)
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
  subject: string,
  payload: Uint8Array,
  total: number,
  window: number,
  timeoutMs: number
): Promise<void> =>
  new Promise((resolve, reject) => {
    const inbox = createInbox()
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
        const h = headers()
        h.set("Nats-Msg-Id", `raw-${sent}`)
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
