import { assert, layer } from "@effect/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Effect, Layer, Ref } from "effect"
import { execFile } from "node:child_process"
import { join } from "node:path"
import type { StoredEvent } from "../../domain/envelope.ts"
import { ValidationFailed } from "../../domain/errors.ts"
import { subjects } from "../../domain/subjects.ts"
import * as memoryEventStore from "../../infra/eventStore/memoryEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { listDeadLetters } from "../../infra/nats/deadLetters.ts"
import * as JetStreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as NatsEventBus from "../../infra/nats/natsEventBus.ts"
import * as memoryCheckpoints from "../../infra/readModels/memoryCheckpoints.ts"
import { DeadLetters } from "../../src/deadLetters.ts"
import { EventBus } from "../../src/eventBus.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeArchiver } from "../../src/telemetry/archiver.ts"
import { natsTestLayer, NatsTestServer } from "../harness/natsServer.ts"
import { eventually } from "../support/eventually.ts"
import { makeEvents } from "../support/busEvents.ts"
import { publishStored } from "../support/publishStored.ts"

const maxDeliver = 3

const TestLayer = NatsEventBus.layer({ maxDeliver, nakDelayMs: 50, ackWaitMs: 5_000, publishAckTimeoutMs: 2_000 }).pipe(
  Layer.provideMerge(JetStreamSetup.layer()),
  Layer.provideMerge(natsTestLayer),
  Layer.provideMerge(Layer.merge(memoryEventStore.layer, memoryCheckpoints.layer))
)

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const lettersOf = (consumer: string) =>
  Effect.gen(function* () {
    return yield* listDeadLetters(yield* NatsConnection, consumer, 100)
  })

const settled = (durable: string) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const info = yield* Effect.promise(async () => (await jetstreamManager(nc)).consumers.info(JetStreamSetup.streamNames.events, durable))
    return info.num_pending === 0 && info.num_ack_pending === 0
  })

/** Counts each event id's deliveries; `fails(id, n)` says whether delivery n of that id fails, and how. */
const recordingHandler = (
  seen: Ref.Ref<ReadonlyMap<string, number>>,
  fails: (id: string, n: number) => ValidationFailed | StoreUnavailable | undefined
) =>
  ({ event }: { readonly event: StoredEvent }) =>
    Ref.modify(seen, (all) => {
      const n = (all.get(event.id) ?? 0) + 1
      return [n, new Map(all).set(event.id, n)] as const
    }).pipe(Effect.flatMap((n) => {
      const error = fails(event.id, n)
      return error === undefined ? Effect.void : Effect.fail(error)
    }))

const poison = new ValidationFailed({ message: "the handler cannot take this event", details: {} })

/** `umbra <args>` as its own process against the test's nats-server: exit code and stdout. */
const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")
const umbra = (...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { url } = yield* NatsTestServer
    return yield* Effect.callback<{ readonly code: number; readonly stdout: string }>((resume) => {
      execFile(process.execPath, [main, ...args], { env: { ...process.env, NATS_URL: url, UMBRA_LOG_LEVEL: "error" } }, (error, stdout) => {
        resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout }))
      })
    })
  })

layer(TestLayer, { excludeTestServices: true, timeout: "90 seconds" })("dead letters on nats-server", (it) => {
  it.effect("parks an event whose handler keeps failing after the last delivery, and handles every other event", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const deadLetters = yield* DeadLetters
      const seen = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
      yield* bus.consumeEvents(
        { durable: "poison-test", filterSubject: subjects.eventsOf("poison") },
        recordingHandler(seen, (id) => (id === "e-poison-2" ? poison : undefined))
      )
      yield* bus.publishEvents(makeEvents("poison", 6))
      yield* eventually(lettersOf("poison-test").pipe(Effect.map((letters) => letters.length === 1)), 20_000, "a dead letter")
      yield* eventually(settled("poison-test"), 10_000, "the consumer settled")

      const counts = yield* Ref.get(seen)
      assert.strictEqual(counts.get("e-poison-2"), maxDeliver)
      for (const i of [0, 1, 3, 4, 5]) assert.strictEqual(counts.get(`e-poison-${i}`), 1)

      const [letter] = yield* lettersOf("poison-test")
      const nc = yield* NatsConnection
      const original = yield* Effect.promise(async () =>
        (await jetstreamManager(nc)).streams.getMessage(JetStreamSetup.streamNames.events, { last_by_subj: "umbra.evt.poison.instance.shd-2" }))
      assert.deepInclude(letter, {
        consumer: "poison-test",
        reason: "ValidationFailed: the handler cannot take this event",
        stream: "UMBRA_EVENTS",
        streamSeq: original!.seq,
        subject: "umbra.evt.poison.instance.shd-2",
        deliveries: maxDeliver
      })
      assert.strictEqual(JSON.parse(decoder.decode(letter!.data)).id, "e-poison-2")
      assert.strictEqual((yield* deadLetters.parked).get("poison-test"), 1)
    }), { timeout: 40_000 })

  it.effect("parks an undecodable message without calling the handler", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const nc = yield* NatsConnection
      const seen = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
      yield* bus.consumeEvents({ durable: "junk-test", filterSubject: subjects.eventsOf("junk") }, recordingHandler(seen, () => undefined))
      yield* Effect.promise(() => jetstream(nc).publish("umbra.evt.junk.instance.x", encoder.encode("not an event")))
      yield* bus.publishEvents(makeEvents("junk", 2))
      yield* eventually(lettersOf("junk-test").pipe(Effect.map((letters) => letters.length === 1)), 10_000, "a dead letter")
      yield* eventually(settled("junk-test"), 10_000, "the consumer settled")
      const [letter] = yield* lettersOf("junk-test")
      assert.match(letter!.reason, /^Undecodable: /)
      assert.strictEqual(letter!.subject, "umbra.evt.junk.instance.x")
      assert.strictEqual(decoder.decode(letter!.data), "not an event")
      assert.deepStrictEqual([...(yield* Ref.get(seen)).keys()], ["e-junk-0", "e-junk-1"])
      assert.strictEqual((yield* (yield* DeadLetters).parked).get("junk-test"), 1)
    }), { timeout: 30_000 })

  it.effect("handles an event whose failures heal before the last delivery, and waits out an outage without counting it", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const seen = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
      yield* bus.consumeEvents({ durable: "heal-test", filterSubject: subjects.eventsOf("heal") }, (delivered) =>
        recordingHandler(seen, (id, n) =>
          id === "e-heal-0" && n < maxDeliver ? poison
          // More failed tries than deliveries allowed: an outage is retried within one delivery.
          : id === "e-heal-1" && n <= maxDeliver + 1 ? new StoreUnavailable({ message: "the store is down" })
          : undefined)(delivered))
      yield* bus.publishEvents(makeEvents("heal", 3))
      yield* eventually(Ref.get(seen).pipe(Effect.map((all) => all.get("e-heal-0") === maxDeliver && all.get("e-heal-1") === maxDeliver + 2)), 20_000)
      yield* eventually(settled("heal-test"), 10_000, "the consumer settled")
      assert.lengthOf(yield* lettersOf("heal-test"), 0)
      assert.isUndefined((yield* (yield* DeadLetters).parked).get("heal-test"))
    }), { timeout: 40_000 })

  it.effect("lists, shows and retries dead letters from the CLI; a retry once the handler is fixed handles the event", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const broken = yield* Ref.make(true)
      const handled = yield* Ref.make<ReadonlyArray<string>>([])
      yield* bus.consumeEvents({ durable: "cli-test", filterSubject: subjects.eventsOf("cli") }, ({ event }) =>
        Ref.get(broken).pipe(
          Effect.flatMap((isBroken) =>
            isBroken && event.id === "e-cli-1" ? Effect.fail(poison) : Ref.update(handled, (all) => [...all, event.id])
          )
        ))
      yield* bus.publishEvents(makeEvents("cli", 3))
      yield* eventually(lettersOf("cli-test").pipe(Effect.map((letters) => letters.length === 1)), 20_000, "a dead letter")
      const [letter] = yield* lettersOf("cli-test")

      const ls = yield* umbra("dlq", "ls", "--consumer", "cli-test", "--json")
      assert.strictEqual(ls.code, 0, ls.stdout)
      assert.deepInclude(JSON.parse(ls.stdout), { seq: letter!.seq, consumer: "cli-test", stream: "UMBRA_EVENTS", subject: "umbra.evt.cli.instance.shd-1" })

      const show = yield* umbra("dlq", "show", String(letter!.seq), "--json")
      assert.strictEqual(show.code, 0, show.stdout)
      assert.strictEqual(JSON.parse(JSON.parse(show.stdout).data).id, "e-cli-1")

      const stillBroken = yield* umbra("dlq", "retry", String(letter!.seq), "--json")
      assert.strictEqual(stillBroken.code, 1, stillBroken.stdout)
      assert.deepStrictEqual(JSON.parse(stillBroken.stdout), {
        seq: letter!.seq,
        consumer: "cli-test",
        ok: false,
        reason: "ValidationFailed: the handler cannot take this event"
      })
      assert.lengthOf(yield* lettersOf("cli-test"), 1, "a failed retry keeps the letter")

      yield* Ref.set(broken, false)
      const retried = yield* umbra("dlq", "retry", "--all", "--consumer", "cli-test", "--json")
      assert.strictEqual(retried.code, 0, retried.stdout)
      assert.deepStrictEqual(JSON.parse(retried.stdout), { seq: letter!.seq, consumer: "cli-test", ok: true })
      assert.deepStrictEqual([...(yield* Ref.get(handled))].sort(), ["e-cli-0", "e-cli-1", "e-cli-2"])
      assert.lengthOf(yield* lettersOf("cli-test"), 0, "a handled letter is removed")

      const help = yield* umbra("dlq", "retry", "--help")
      assert.strictEqual(help.code, 0)
      assert.include(help.stdout, "umbra dlq retry --all")
      assert.strictEqual((yield* umbra("dlq", "show", "nope")).code, 2)
      assert.strictEqual((yield* umbra("dlq", "retry", String(letter!.seq))).code, 1, "the letter is gone")
    }), { timeout: 60_000 })

  it.effect("the archiver parks a signal that does not decode and archives the good ones around it, passing dependency reports by", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const at = new Date().toISOString()
      const publish = (subject: string, body: string) => Effect.promise(() => publishStored(nc, subject, body))
      yield* publish(subjects.signal("acme", "shd-1", "hb"), JSON.stringify({ instanceId: "shd-1", seq: 1, at, ready: true }))
      yield* publish(subjects.signal("acme", "shd-1", "dp"), JSON.stringify({ instanceId: "shd-1", at, files: [] }))
      const junk = yield* publish(subjects.signal("acme", "shd-1", "tm"), "{\"instanceId\": \"shd-1\", \"cpu\": \"lots\"}")
      yield* publish(subjects.signal("acme", "shd-1", "tm"), JSON.stringify({ instanceId: "shd-1", at, cpu: 0.5, memBytes: 1024 }))

      const archiver = yield* makeArchiver
      yield* Effect.forkScoped(archiver.run)
      yield* eventually(archiver.archived.pipe(Effect.map((n) => n === 2)), 10_000, "two signals archived")
      const store = yield* EventStore
      assert.lengthOf(yield* store.readStream("heartbeat-acme.shd-1"), 1)
      assert.lengthOf(yield* store.readStream("telemetry-acme.shd-1"), 1)
      yield* eventually(lettersOf("archiver").pipe(Effect.map((letters) => letters.length === 1)), 5_000, "the junk parked")
      const [letter] = yield* lettersOf("archiver")
      assert.deepInclude(letter, { consumer: "archiver", stream: "UMBRA_SIGNALS", streamSeq: junk, subject: "umbra.sig.acme.shd-1.tm" })
      assert.match(letter!.reason, /^Undecodable: /)
      assert.strictEqual((yield* (yield* DeadLetters).parked).get("archiver"), 1)

      // A retry of a letter that still does not decode fails and keeps it.
      const retry = yield* umbra("dlq", "retry", String(letter!.seq), "--json")
      assert.strictEqual(retry.code, 1, retry.stdout)
      assert.lengthOf(yield* lettersOf("archiver"), 1)
    }), { timeout: 40_000 })

  it.effect("the archiver parks a signal the store refuses, archives the rest of its batch, and moves on", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const at = new Date().toISOString()
      const sample = (cpu: number) => JSON.stringify({ instanceId: "shd-2", at, cpu, memBytes: 1024 })
      const publish = (body: string) => Effect.promise(() => publishStored(nc, subjects.signal("acme", "shd-2", "tm"), body))
      yield* publish(sample(1))
      const refused = yield* publish(sample(13))
      yield* publish(sample(2))

      // A store that refuses one sample, as it would one over its limits.
      const store = yield* EventStore
      const refusing = EventStore.of({
        ...store,
        append: (stream, expected, events) =>
          events.some((event) => (event.data as { readonly cpu?: number }).cpu === 13)
            ? Effect.fail(new ValidationFailed({ message: "the store refuses this sample", details: {} }))
            : store.append(stream, expected, events)
      })
      const archiver = yield* makeArchiver.pipe(Effect.provideService(EventStore, refusing))
      yield* Effect.forkScoped(archiver.run)
      yield* eventually(lettersOf("archiver").pipe(Effect.map((letters) => letters.some((letter) => letter.streamSeq === refused))), 10_000, "the refused sample parked")
      yield* eventually(store.readStream("telemetry-acme.shd-2").pipe(Effect.map((events) => events.length === 2)), 5_000, "the other samples archived")
      const letter = (yield* lettersOf("archiver")).find((letter) => letter.streamSeq === refused)
      assert.strictEqual(letter?.reason, "ValidationFailed: the store refuses this sample")
      assert.deepStrictEqual((yield* store.readStream("telemetry-acme.shd-2")).map((event) => (event.data as { readonly cpu: number }).cpu), [1, 2])
    }), { timeout: 30_000 })

  it.effect("sets UMBRA_DLQ up bounded, on file storage", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const info = yield* Effect.promise(async () => (await jetstreamManager(nc)).streams.info(JetStreamSetup.streamNames.deadLetters))
      assert.deepStrictEqual(info.config.subjects, ["umbra.dlq.letter.>"])
      assert.strictEqual(info.config.storage, "file")
      assert.strictEqual(info.config.max_age, 30 * 24 * 3600 * 1e9)
      assert.strictEqual(info.config.max_bytes, -1, "no byte limit is reserved from the server's store")
      assert.strictEqual(info.config.max_msgs_per_subject, 10_000)
    }))
})
