import { assert, describe, it, layer } from "@effect/vitest"
import { rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { Effect, Fiber, Layer, Ref, Result, Schedule, Scope, Stream } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import { subjects } from "../../domain/subjects.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as JetStreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as NatsEventBus from "../../infra/nats/natsEventBus.ts"
import { findNatsServerBinary, natsServer, NatsServerError } from "../../infra/nats/natsServerProcess.ts"
import { publishPipelined } from "../../infra/nats/pipelinedPublisher.ts"
import { BusUnavailable, EventBus } from "../../src/eventBus.ts"
import { natsTestLayer, NatsTestServer } from "../harness/natsServer.ts"
import { eventually } from "../support/eventually.ts"
import { makeEvents } from "../support/busEvents.ts"

const TestLayer = NatsEventBus.layer({ nakDelayMs: 100, ackWaitMs: 2_000, publishAckTimeoutMs: 2_000 }).pipe(
  Layer.provideMerge(JetStreamSetup.layer()),
  Layer.provideMerge(natsTestLayer)
)

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const jsm = Effect.gen(function* () {
  const nc = yield* NatsConnection
  return yield* Effect.promise(() => jetstreamManager(nc))
})

const streamMessages = (subject: string) =>
  Effect.gen(function* () {
    const manager = yield* jsm
    const info = yield* Effect.promise(() => manager.streams.info(JetStreamSetup.streamNames.events, { subjects_filter: subject }))
    return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0)
  })

layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("NatsEventBus against nats-server", (it) => {
  it.effect("sets the streams up idempotently", () =>
    Effect.gen(function* () {
      yield* JetStreamSetup.ensureStreams()
      yield* JetStreamSetup.ensureStreams({ signalsMaxAge: "1 hour" })
      yield* JetStreamSetup.ensureStreams()
      const manager = yield* jsm
      const events = yield* Effect.promise(() => manager.streams.info(JetStreamSetup.streamNames.events))
      const signals = yield* Effect.promise(() => manager.streams.info(JetStreamSetup.streamNames.signals))
      assert.deepStrictEqual(events.config.subjects, ["umbra.evt.>"])
      assert.strictEqual(events.config.duplicate_window, 10 * 60 * 1e9)
      assert.strictEqual(events.config.storage, "file")
      assert.deepStrictEqual(signals.config.subjects, ["umbra.sig.>"])
      assert.strictEqual(signals.config.max_age, 24 * 3600 * 1e9)
    }))

  it.effect("publishes events on their subjects with headers, once despite a republish", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const events = makeEvents("pub", 500)
      yield* bus.publishEvents(events)
      yield* bus.publishEvents(events)
      assert.strictEqual(yield* streamMessages(subjects.eventsOf("pub")), 500)
      assert.strictEqual(yield* streamMessages("umbra.evt.pub.instance.shd-3"), 100)

      const manager = yield* jsm
      const first = yield* Effect.promise(() =>
        manager.streams.getMessage(JetStreamSetup.streamNames.events, { last_by_subj: "umbra.evt.pub.instance.shd-0" })
      )
      const last = events[495]!
      assert.strictEqual(first?.header.get("Nats-Msg-Id"), last.id)
      assert.strictEqual(first?.header.get("Umbra-Type"), last.type)
      const body = JSON.parse(decoder.decode(first?.data)) as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(body), [
        "id", "type", "stream", "revision", "position", "at", "tenant", "correlationId", "causationId", "schemaVersion", "data"
      ])
      assert.deepStrictEqual(body, { ...last })
    }))

  it.effect("keeps at most the window of publishes unacknowledged", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const messages = Array.from({ length: 300 }, (_, i) => ({
        subject: `umbra.evt.window.instance.w-${i % 3}`,
        data: encoder.encode(`{"i":${i}}`),
        msgId: `window-${i}`
      }))
      const summary = yield* publishPipelined(nc, messages, { window: 16, windowBytes: 1 << 20, ackTimeoutMs: 2_000 })
      assert.strictEqual(summary.stored, 300)
      assert.strictEqual(summary.maxOutstanding, 16)
      const again = yield* publishPipelined(nc, messages.slice(0, 10), { window: 4, windowBytes: 1 << 20, ackTimeoutMs: 2_000 })
      assert.deepStrictEqual(again, { stored: 0, duplicates: 10, maxOutstanding: 4 })
    }))

  it.effect("serves requests in a queue group, each answered once, until the scope closes", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const served = yield* Ref.make<ReadonlyArray<string>>([])
      const scope = yield* Scope.make()
      const serve = (name: string) =>
        bus.serveRequests(subjects.commandsOf("*"), "umbra", (request) =>
          Ref.update(served, (all) => [...all, name]).pipe(
            Effect.as(encoder.encode(`${name}:${request.subject}:${decoder.decode(request.data)}`))
          )).pipe(Scope.provide(scope))
      yield* serve("a")
      yield* serve("b")
      const replies = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => bus.request(subjects.command("acme", "ConnectClient"), encoder.encode(String(i)), 2_000),
        { concurrency: 5 }
      )
      replies.forEach((reply, i) => assert.match(decoder.decode(reply), new RegExp(`^[ab]:umbra\\.cmd\\.acme\\.ConnectClient:${i}$`)))
      assert.strictEqual((yield* Ref.get(served)).length, 20)

      yield* Scope.close(scope, Effect.void as never)
      const after = yield* Effect.result(bus.request(subjects.command("acme", "ConnectClient"), encoder.encode("late"), 500))
      assert.isTrue(Result.isFailure(after) && after.failure instanceof BusUnavailable)
    }))

  it.effect("consumes durably: acks, redelivers after a failure, terminates undecodable messages", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const nc = yield* NatsConnection
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const failedOnce = yield* Ref.make(false)
      yield* bus.consumeEvents({ durable: "consume-test", filterSubject: subjects.eventsOf("cons") }, ({ event }) =>
        Effect.gen(function* () {
          yield* Ref.update(seen, (all) => [...all, event.id])
          if (event.id === "e-cons-3" && !(yield* Ref.getAndSet(failedOnce, true))) {
            return yield* Effect.fail("transient")
          }
        }))
      yield* Effect.sync(() => nc.publish("umbra.evt.cons.instance.junk", encoder.encode("not an event")))
      yield* bus.publishEvents(makeEvents("cons", 10))
      yield* eventually(Ref.get(seen).pipe(Effect.map((all) => new Set(all).size === 10 && all.length === 11)))
      const ids = yield* Ref.get(seen)
      assert.strictEqual(ids.filter((id) => id === "e-cons-3").length, 2)

      const manager = yield* jsm
      yield* eventually(
        Effect.promise(() => manager.consumers.info(JetStreamSetup.streamNames.events, "consume-test")).pipe(
          Effect.map((info) => info.num_pending === 0 && info.num_ack_pending === 0)
        )
      )
    }), { timeout: 30_000 })

  it.effect("a consumer with concurrency overlaps subjects and keeps each subject's order", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const handled = yield* Ref.make<ReadonlyArray<StoredEvent>>([])
      let inFlight = 0
      let mostAtOnce = 0
      yield* bus.consumeEvents({ durable: "concurrent-test", filterSubject: subjects.eventsOf("conc"), concurrency: 8 }, ({ event }) =>
        Effect.gen(function* () {
          mostAtOnce = Math.max(mostAtOnce, ++inFlight)
          // Earlier events of a subject take longer: out of order, unless the subject's order is kept.
          yield* Effect.sleep(`${(10 - event.revision) * 3} millis`)
          inFlight--
          yield* Ref.update(handled, (all) => [...all, event])
        }))
      yield* bus.publishEvents(makeEvents("conc", 50))
      yield* eventually(Ref.get(handled).pipe(Effect.map((all) => all.length === 50)))
      const all = yield* Ref.get(handled)
      for (const stream of new Set(all.map((event) => event.stream))) {
        const revisions = all.filter((event) => event.stream === stream).map((event) => event.revision)
        assert.deepStrictEqual(revisions, [...revisions].sort((a, b) => a - b), stream)
      }
      assert.isAbove(mostAtOnce, 1)
    }), { timeout: 30_000 })

  it.effect("never hands a consumer an event whose envelope disagrees with its subject", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const nc = yield* NatsConnection
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      yield* bus.consumeEvents({ durable: "forged-test", filterSubject: subjects.eventsOf("forged") }, ({ event }) =>
        Ref.update(seen, (all) => [...all, event.id]))
      // Another tenant's event, and one of another stream, published under this tenant's subject.
      const [other] = makeEvents("victim", 1, "x")
      const [wrongStream] = makeEvents("forged", 1, "y")
      yield* Effect.sync(() => nc.publish("umbra.evt.forged.instance.shd-0", encoder.encode(JSON.stringify(other))))
      yield* Effect.sync(() => nc.publish("umbra.evt.forged.instance.shd-4", encoder.encode(JSON.stringify(wrongStream))))
      yield* bus.publishEvents(makeEvents("forged", 3))
      yield* eventually(Ref.get(seen).pipe(Effect.map((all) => all.length >= 3)))
      const followed = yield* bus.followEvents({ filterSubject: subjects.eventsOf("forged"), from: "start" }).pipe(
        Stream.take(3),
        Stream.runCollect,
        Effect.timeout("10 seconds")
      )
      assert.deepStrictEqual(yield* Ref.get(seen), ["e-forged-0", "e-forged-1", "e-forged-2"])
      assert.deepStrictEqual(followed.map((d) => d.event.id), ["e-forged-0", "e-forged-1", "e-forged-2"])
    }), { timeout: 30_000 })

  it.effect("follows events from the start, from now, and from a stream sequence", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const filterSubject = subjects.eventsOf("follow")
      yield* bus.publishEvents(makeEvents("follow", 5))
      const fromStart = yield* bus.followEvents({ filterSubject, from: "start" }).pipe(Stream.take(5), Stream.runCollect)
      assert.deepStrictEqual(fromStart.map((d) => d.event.id), makeEvents("follow", 5).map((e) => e.id))
      assert.isTrue(fromStart.every((d, i) => i === 0 || d.seq > fromStart[i - 1]!.seq))

      const fromSeq = yield* bus.followEvents({ filterSubject, from: fromStart[2]!.seq }).pipe(Stream.take(3), Stream.runCollect)
      assert.deepStrictEqual(fromSeq.map((d) => d.seq), fromStart.slice(2).map((d) => d.seq))

      const fromNow = yield* bus.followEvents({ filterSubject, from: "now" }).pipe(
        Stream.take(2),
        Stream.runCollect,
        Effect.forkChild
      )
      yield* Effect.sleep("300 millis")
      yield* bus.publishEvents(makeEvents("follow", 2, "later"))
      const news = yield* Fiber.join(fromNow)
      assert.deepStrictEqual(news.map((d) => d.event.id), ["later-follow-0", "later-follow-1"])
    }))

  it.effect("a durable consumer survives a server restart", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const server = yield* NatsTestServer
      const seen = yield* Ref.make<ReadonlySet<string>>(new Set())
      yield* bus.consumeEvents({ durable: "restart-test", filterSubject: subjects.eventsOf("rst") }, ({ event }) =>
        Ref.update(seen, (all) => new Set([...all, event.id])))
      yield* bus.publishEvents(makeEvents("rst", 20, "before"))
      yield* eventually(Ref.get(seen).pipe(Effect.map((all) => all.size === 20)))
      yield* server.restart
      const after = makeEvents("rst", 20, "after")
      yield* bus.publishEvents(after).pipe(
        Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 50 })))
      )
      yield* eventually(Ref.get(seen).pipe(Effect.map((all) => all.size === 40)), 20_000)
    }), { timeout: 45_000 })

  it.effect("publishing across a server restart fails with BusUnavailable or succeeds, and loses no acknowledged event", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus
      const server = yield* NatsTestServer
      const batches = Array.from({ length: 60 }, (_, b) => makeEvents("load", 250, `b${b}`))
      const outcomes = yield* Ref.make({ ok: 0, unavailable: 0 })
      const publisher = yield* Effect.forEach(batches, (batch) =>
        bus.publishEvents(batch).pipe(
          Effect.tap(() => Ref.update(outcomes, (o) => ({ ...o, ok: o.ok + 1 }))),
          Effect.tapError(() => Ref.update(outcomes, (o) => ({ ...o, unavailable: o.unavailable + 1 }))),
          // The caller's contract: retry the batch from its checkpoint; the dedupe window drops repeats.
          Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 100 })))
        ), { discard: true }).pipe(Effect.forkChild)
      yield* Effect.sleep("150 millis")
      yield* server.restart
      yield* Fiber.join(publisher)
      const { ok } = yield* Ref.get(outcomes)
      assert.strictEqual(ok, 60)
      assert.strictEqual(yield* streamMessages(subjects.eventsOf("load")), 60 * 250)
    }), { timeout: 45_000 })
})

describe("nats-server process", () => {
  it("finds nats-server on PATH, and nothing on an empty PATH", () => {
    assert.match(findNatsServerBinary() ?? "", /nats-server$/)
    const path = process.env["PATH"]
    process.env["PATH"] = ""
    try {
      assert.isUndefined(findNatsServerBinary())
    } finally {
      process.env["PATH"] = path
    }
  })

  layer(natsTestLayer, { excludeTestServices: true, timeout: "60 seconds" })("with a server running", (it) => {
    it.effect("refuses to start a second server on a taken port", () =>
      Effect.gen(function* () {
        const server = yield* NatsTestServer
        const port = Number(new URL(server.url).port)
        const storeDir = join(tmpdir(), `umbra-nats-taken-${port}`)
        const result = yield* Effect.result(Effect.scoped(natsServer({ port, storeDir })))
        yield* Effect.promise(() => rm(storeDir, { recursive: true, force: true }))
        assert.isTrue(Result.isFailure(result) && result.failure instanceof NatsServerError)
      }))
  })
})
