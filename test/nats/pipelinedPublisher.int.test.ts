import { assert, layer } from "@effect/vitest"
import { DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { publishPipelined } from "../../infra/nats/pipelinedPublisher.ts"
import { natsTestLayer } from "../harness/natsServer.ts"

const encoder = new TextEncoder()
const message = (n: number) => ({ subject: "full.one", data: encoder.encode(JSON.stringify({ n })) })
const options = { window: 100, windowBytes: 1 << 20, ackTimeoutMs: 5_000 }

/** Message `n` of two interleaved subjects, with its id; `padding` bytes make it larger. */
const numbered = (n: number, padding = 0) => ({
  subject: `mid.${n % 2 === 0 ? "even" : "odd"}`,
  data: encoder.encode(JSON.stringify({ n, pad: "x".repeat(padding) })),
  msgId: `mid-${n}`
})

/** The `n` of every message in the stream, in stream order. */
const storedNumbers = (stream: string) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    return yield* Effect.promise(async () => {
      const consumer = await jetstream(nc).consumers.get(stream)
      const seen: Array<number> = []
      for (let i = 0; i < 1_000; i++) {
        const msg = await consumer.next({ expires: 1_000 })
        if (msg === null) break
        seen.push((msg.json() as { n: number }).n)
        if (msg.info.pending === 0) break
      }
      return seen
    })
  })

const manager = Effect.gen(function* () {
  const nc = yield* NatsConnection
  return yield* Effect.promise(() => jetstreamManager(nc))
})

layer(natsTestLayer, { excludeTestServices: true, timeout: "30 seconds" })("pipelined JetStream publisher", (it) => {
  it.effect("fails when JetStream refuses a message instead of counting it stored", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      // A stream that takes one message and refuses the next: JetStream answers with an error that also
      // carries `stream` and `seq`, which an acknowledgement must not be mistaken for.
      yield* Effect.promise(async () => (await jetstreamManager(nc)).streams.add({ name: "FULL", subjects: ["full.>"], max_msgs: 1, discard: DiscardPolicy.New }))
      const first = yield* publishPipelined(nc, [message(1)], options)
      assert.strictEqual(first.stored, 1)
      const refused = yield* publishPipelined(nc, [message(2)], options).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "BusUnavailable")
      assert.match(refused.message, /maximum messages|10077|resource/i)
    }))

  it.effect("fails on a 503 (no stream answers) and when acknowledgements stop", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const unanswered = { subject: "nobody.here", data: encoder.encode("{}") }
      const noResponders = yield* publishPipelined(nc, [unanswered], options).pipe(Effect.flip)
      assert.match(noResponders.message, /503/)
      // Something takes the message but never acknowledges it: an ack that never comes is a failed publish.
      const sink = nc.subscribe("silent.one")
      yield* Effect.promise(() => nc.flush())
      const silent = yield* publishPipelined(nc, [{ ...unanswered, subject: "silent.one" }], { ...options, ackTimeoutMs: 300 }).pipe(Effect.flip)
      sink.unsubscribe()
      assert.match(silent.message, /no acknowledgement for 300 ms/)
    }))

  it.effect("a refusal in the middle of the window stores none of the later messages, and a retry keeps the order", () =>
    Effect.gen(function* () {
      const jsm = yield* manager
      // Message 20 is too large for the stream; the 29 after it, already in flight, would fit.
      yield* Effect.promise(() => jsm.streams.add({ name: "MID", subjects: ["mid.>"], max_msg_size: 1_024, duplicate_window: 60e9 }))
      const messages = Array.from({ length: 50 }, (_, n) => numbered(n, n === 20 ? 4_096 : 0))
      const refused = yield* publishPipelined(yield* NatsConnection, messages, options).pipe(Effect.flip)
      assert.match(refused.message, /maximum|size/i, "the error is the refusal itself, not a later mismatch")
      assert.deepStrictEqual(yield* storedNumbers("MID"), Array.from({ length: 20 }, (_, n) => n), "only the prefix before the refusal")

      const { config } = yield* Effect.promise(() => jsm.streams.info("MID"))
      yield* Effect.promise(() => jsm.streams.update("MID", { ...config, max_msg_size: -1 }))
      const retried = yield* publishPipelined(yield* NatsConnection, Array.from({ length: 50 }, (_, n) => numbered(n, n === 20 ? 4_096 : 0)), options)
      assert.deepStrictEqual({ stored: retried.stored, duplicates: retried.duplicates }, { stored: 30, duplicates: 20 })
      assert.deepStrictEqual(yield* storedNumbers("MID"), Array.from({ length: 50 }, (_, n) => n))
    }))

  it.effect("makes each message once, in order, when its turn comes, also when the byte window holds one back", () =>
    Effect.gen(function* () {
      const jsm = yield* manager
      yield* Effect.promise(() => jsm.streams.add({ name: "LAZY", subjects: ["lazy.>"], duplicate_window: 60e9 }))
      const asked: Array<number> = []
      const lazy = {
        length: 40,
        at: (n: number) => {
          asked.push(n)
          return { ...numbered(n, 300), subject: `lazy.${n % 3}` }
        }
      }
      // About three messages fit in the byte window: most are made, then held back until acknowledgements free room.
      const summary = yield* publishPipelined(yield* NatsConnection, lazy, { ...options, windowBytes: 1_000 })
      assert.deepStrictEqual(asked, Array.from({ length: 40 }, (_, n) => n))
      assert.strictEqual(summary.stored, 40)
      assert.isAtMost(summary.maxOutstanding, 3)
      assert.deepStrictEqual(yield* storedNumbers("LAZY"), Array.from({ length: 40 }, (_, n) => n))
    }))

  it.effect("takes each reply subject again once its message is answered: many windows' worth, each stored once and in order", () =>
    Effect.gen(function* () {
      const jsm = yield* manager
      yield* Effect.promise(() => jsm.streams.add({ name: "SLOTS", subjects: ["slots.>"], duplicate_window: 60e9 }))
      // A window of 3 has 6 reply subjects: 100 messages take each about 17 times.
      const messages = Array.from({ length: 100 }, (_, n) => ({ ...numbered(n), subject: `slots.${n % 4}` }))
      const summary = yield* publishPipelined(yield* NatsConnection, messages, { ...options, window: 3 })
      assert.deepStrictEqual({ stored: summary.stored, duplicates: summary.duplicates, maxOutstanding: summary.maxOutstanding }, { stored: 100, duplicates: 0, maxOutstanding: 3 })
      assert.deepStrictEqual(yield* storedNumbers("SLOTS"), Array.from({ length: 100 }, (_, n) => n))
    }))
})
