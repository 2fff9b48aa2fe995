import { assert, layer } from "@effect/vitest"
import { Clock, type Duration, Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import type { NewEvent, StoredEvent } from "../../domain/envelope.ts"
import { maxEventBytes } from "../../infra/eventStore/appendGuard.ts"
import { EventStore, type ExpectedRevision } from "../../src/eventStore/eventStore.ts"

export interface ConformanceOptions {
  /** The store refuses an event id already stored in another stream (KurrentDB checks only within a stream). */
  readonly uniqueIdsAcrossStreams: boolean
  /**
   * "test": the store and the suite share one TestClock, and the max-age cases move it instead of waiting.
   * "real": for a server that keeps its own time (a real KurrentDB), those cases wait real seconds.
   */
  readonly time: "test" | "real"
}

export const newEvent = (data: unknown = { n: 0 }, type = "TestHappened"): NewEvent => ({
  id: randomUUID(),
  type,
  at: new Date().toISOString(),
  tenant: "acme",
  correlationId: randomUUID(),
  causationId: randomUUID(),
  schemaVersion: 1,
  data
})

const events = (count: number, from = 0): Array<NewEvent> =>
  Array.from({ length: count }, (_, i) => newEvent({ n: from + i }))

/** Events stamped at the Clock's time, as Umbra stamps its commands: the memory and SQLite stores age events by `at`. */
export const eventsNow = (count: number, from = 0): Effect.Effect<Array<NewEvent>> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const at = new Date(now).toISOString()
    return events(count, from).map((event) => ({ ...event, at }))
  })

const freshStream = (category = "test") => `${category}-acme.s${randomUUID().slice(0, 8)}`

const ids = (written: ReadonlyArray<{ readonly id: string }>) => written.map((e) => e.id)

const isAscending = (stored: ReadonlyArray<StoredEvent>) =>
  stored.every((e, i) => i === 0 || stored[i - 1]!.position < e.position)

/** The events of the global log appended after `mark`, limited to some streams. */
const logSince = (mark: StoredEvent["position"] | undefined, streams: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const all = yield* store.readAll(mark === undefined ? {} : { after: mark })
    return all.filter((e) => streams.has(e.stream))
  })

/** Registers the suite every EventStore adapter must pass. */
export const eventStoreConformance = (
  name: string,
  storeLayer: Layer.Layer<EventStore, unknown>,
  options: ConformanceOptions
) => {
  const onTestClock = options.time === "test"
  // One TestClock for the store and every case, so the store reads the time the cases set.
  const suiteLayer = onTestClock ? Layer.provideMerge(storeLayer, TestClock.layer()) : storeLayer
  const elapse = (duration: Duration.Input) => (onTestClock ? TestClock.adjust(duration) : Effect.sleep(duration))
  // A watchdog on a wait for other fibers must fire in real time, whichever clock the store reads.
  const withRealTime = <A, E, R>(effect: Effect.Effect<A, E, R>) => (onTestClock ? TestClock.withLive(effect) : effect)

  layer(suiteLayer, { excludeTestServices: true, timeout: "120 seconds" })(`EventStore conformance: ${name}`, (it) => {
    it.effect("appends and reads a stream back with the whole envelope", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        const written = events(3)
        const result = yield* store.append(stream, "no_stream", written)
        assert.strictEqual(result.revision, 2)
        assert.isTrue(result.appended)
        const read = yield* store.readStream(stream)
        assert.deepStrictEqual(ids(read), ids(written))
        assert.deepStrictEqual(read.map((e) => e.revision), [0, 1, 2])
        assert.strictEqual(read[2]!.position, result.position)
        assert.isTrue(isAscending(read))
        const first = read[0]!
        const sent = written[0]!
        assert.deepStrictEqual(
          { type: first.type, at: first.at, tenant: first.tenant, correlationId: first.correlationId },
          { type: sent.type, at: sent.at, tenant: sent.tenant, correlationId: sent.correlationId }
        )
        assert.deepStrictEqual(
          { causationId: first.causationId, schemaVersion: first.schemaVersion, data: first.data, stream: first.stream },
          { causationId: sent.causationId, schemaVersion: 1, data: { n: 0 }, stream }
        )
      }))

    it.effect("reads forwards and backwards from a revision with a limit", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        yield* store.append(stream, "no_stream", events(10))
        const forwards = yield* store.readStream(stream, { from: 3, limit: 4 })
        assert.deepStrictEqual(forwards.map((e) => e.revision), [3, 4, 5, 6])
        const backwards = yield* store.readStream(stream, { direction: "backwards", limit: 3 })
        assert.deepStrictEqual(backwards.map((e) => e.revision), [9, 8, 7])
        const backFrom = yield* store.readStream(stream, { direction: "backwards", from: 4, limit: 10 })
        assert.deepStrictEqual(backFrom.map((e) => e.revision), [4, 3, 2, 1, 0])
        assert.deepStrictEqual(yield* store.readStream(freshStream()), [])
      }))

    it.effect("enforces each expected-revision rule with the exact conflict", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        const conflict = (expected: ExpectedRevision, on = stream) =>
          store.append(on, expected, events(1)).pipe(Effect.flip)

        const missingExists = yield* conflict("stream_exists")
        assert.deepInclude(missingExists, { _tag: "ConcurrencyConflict", stream, expected: "stream_exists", actual: "no_stream" })
        const missingExact = yield* conflict(0)
        assert.deepInclude(missingExact, { _tag: "ConcurrencyConflict", expected: 0, actual: "no_stream" })

        yield* store.append(stream, "no_stream", events(2))
        const exists = yield* conflict("no_stream")
        assert.deepInclude(exists, { _tag: "ConcurrencyConflict", expected: "no_stream", actual: 1 })
        const stale = yield* conflict(0)
        assert.deepInclude(stale, { _tag: "ConcurrencyConflict", expected: 0, actual: 1 })
        const ahead = yield* conflict(5)
        assert.deepInclude(ahead, { _tag: "ConcurrencyConflict", expected: 5, actual: 1 })

        assert.strictEqual((yield* store.append(stream, 1, events(1))).revision, 2)
        assert.strictEqual((yield* store.append(stream, "stream_exists", events(1))).revision, 3)
        assert.strictEqual((yield* store.append(stream, "any", events(1))).revision, 4)
        assert.strictEqual((yield* store.append(freshStream(), "any", events(1))).revision, 0)
        assert.lengthOf(yield* store.readStream(stream), 5)
      }))

    it.effect("answers a re-append of the same ids at the same place with the first outcome", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        const batch = events(2)
        const first = yield* store.append(stream, "no_stream", batch)
        const again = yield* store.append(stream, "no_stream", batch)
        assert.deepStrictEqual(again, { revision: first.revision, position: first.position, appended: false })

        yield* store.append(stream, 1, events(1))
        const late = yield* store.append(stream, "no_stream", batch)
        assert.deepStrictEqual(late, { revision: first.revision, position: first.position, appended: false })
        const next = events(1)
        const third = yield* store.append(stream, 2, next)
        assert.deepStrictEqual(yield* store.append(stream, 2, next), { ...third, appended: false })
        assert.deepStrictEqual(yield* store.append(stream, "any", next), { ...third, appended: false })
        assert.lengthOf(yield* store.readStream(stream), 4)
      }))

    if (options.uniqueIdsAcrossStreams) {
      it.effect("refuses an event id already stored in another stream, storing nothing", () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const stream = freshStream()
          const other = freshStream()
          const batch = events(1)
          yield* store.append(stream, "no_stream", batch)
          const error = yield* store.append(other, "any", [newEvent(), batch[0]!]).pipe(Effect.flip)
          assert.deepInclude(error, { _tag: "DuplicateEventId", eventId: batch[0]!.id, stream: other, storedIn: stream })
          assert.deepStrictEqual(yield* store.readStream(other), [])
        }))
    }

    it.effect("lets exactly one of many concurrent writers win each revision", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        yield* store.append(stream, "no_stream", events(1))
        const racers = 12
        const outcomes = yield* Effect.forEach(
          Array.from({ length: racers }, () => events(2)),
          (batch) => store.append(stream, 0, batch).pipe(Effect.result),
          { concurrency: "unbounded" }
        )
        const winners = outcomes.filter((o) => o._tag === "Success")
        assert.strictEqual(winners.length, 1)
        for (const o of outcomes) if (o._tag === "Failure") assert.strictEqual(o.failure._tag, "ConcurrencyConflict")
        assert.lengthOf(yield* store.readStream(stream), 3)
      }))

    it.effect("loses nothing when many fibers append to one stream with retries", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        const writers = 8
        const perWriter = 5
        const appendOne = (event: NewEvent) =>
          Effect.gen(function* () {
            const last = yield* store.readStream(stream, { direction: "backwards", limit: 1 })
            yield* store.append(stream, last[0]?.revision ?? "no_stream", [event])
          }).pipe(Effect.retry({ while: (e) => e._tag === "ConcurrencyConflict", times: 200 }))
        const written = Array.from({ length: writers }, () => events(perWriter))
        yield* Effect.forEach(written, (batch) => Effect.forEach(batch, appendOne, { discard: true }), {
          concurrency: "unbounded",
          discard: true
        })
        const read = yield* store.readStream(stream)
        assert.deepStrictEqual(read.map((e) => e.revision), Array.from({ length: writers * perWriter }, (_, i) => i))
        assert.deepStrictEqual(new Set(ids(read)), new Set(written.flat().map((e) => e.id)))
        for (const batch of written) {
          const order = batch.map((e) => read.findIndex((r) => r.id === e.id))
          assert.isTrue(order.every((at, i) => i === 0 || order[i - 1]! < at), "each writer's events keep their order")
        }
      }))

    it.effect("keeps the global log in commit order across streams", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const mark = yield* store.headPosition()
        const streams = [freshStream(), freshStream(), freshStream()]
        const committed: Array<string> = []
        for (let i = 0; i < 9; i++) {
          const batch = events(2, i * 2)
          yield* store.append(streams[i % 3]!, "any", batch)
          committed.push(...ids(batch))
        }
        const log = yield* logSince(mark, new Set(streams))
        assert.deepStrictEqual(ids(log), committed)
        assert.isTrue(isAscending(log))
        const page = yield* store.readAll(mark === undefined ? { limit: 1 } : { after: mark, limit: 1 })
        assert.lengthOf(page, 1)
      }))

    it.effect("lists the streams that hold events by name, with their revision, by prefix and a page at a time", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        // A category of this case's own: the suite's other cases share the store.
        const category = `list${randomUUID().slice(0, 8)}`
        const [a, b, c] = [`${category}-acme.a`, `${category}-acme.b`, `${category}-beta.a`]
        yield* store.append(b, "no_stream", events(2))
        yield* store.append(a, "no_stream", events(1))
        yield* store.append(c, "no_stream", events(3))
        yield* store.append(`other${category}-acme.a`, "no_stream", events(1))
        const all = yield* store.listStreams({ prefix: `${category}-` })
        assert.deepStrictEqual(all, [{ stream: a, revision: 0 }, { stream: b, revision: 1 }, { stream: c, revision: 2 }])
        assert.deepStrictEqual(yield* store.listStreams({ prefix: `${category}-acme.` }), all.slice(0, 2))
        assert.deepStrictEqual(yield* store.listStreams({ prefix: `${category}-`, limit: 1 }), all.slice(0, 1))
        assert.deepStrictEqual(yield* store.listStreams({ prefix: `${category}-`, after: a, limit: 1 }), all.slice(1, 2))
        assert.deepStrictEqual(yield* store.listStreams({ prefix: `${category}-`, after: c }), [])
        const everything = yield* store.listStreams()
        assert.isTrue(everything.every((s, i) => i === 0 || everything[i - 1]!.stream < s.stream), "in name order")
        assert.includeDeepMembers([...everything], [...all])
      }))

    const subscribeCase = (label: string, skip: number, viaHead: boolean) =>
      it.effect(`subscribes from ${label} while another fiber appends: every event once, in order`, () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streams = [freshStream(), freshStream()]
          const before = events(10)
          for (const [i, event] of before.entries()) yield* store.append(streams[i % 2]!, "any", [event])
          const stored = yield* logSince(undefined, new Set(streams))
          const after = viaHead ? yield* store.headPosition() : skip === 0 ? undefined : stored[skip - 1]!.position
          const later = events(40, 10)
          const expected = [...ids(stored).slice(viaHead ? stored.length : skip), ...ids(later)]
          const subscriber = yield* store
            .subscribe(after === undefined ? {} : { after })
            .pipe(
              Stream.filter((e) => streams.includes(e.stream)),
              Stream.take(expected.length),
              Stream.runCollect,
              Effect.forkChild
            )
          yield* Effect.forEach(later, (event, i) => store.append(streams[i % 2]!, "any", [event]), {
            concurrency: 4,
            discard: true
          })
          const seen = yield* Fiber.join(subscriber).pipe(Effect.timeout("20 seconds"), withRealTime)
          // Concurrent appends commit in any order: the subscription must follow the log's order, once each.
          const committed = yield* logSince(after, new Set(streams))
          assert.deepStrictEqual(ids(seen), ids(committed))
          assert.deepStrictEqual(new Set(ids(seen)), new Set(expected))
          assert.isTrue(isAscending(seen))
        }))
    subscribeCase("the start", 0, false)
    subscribeCase("the middle", 5, false)
    subscribeCase("the end", 0, true)

    it.effect("hides events past max count, and a scavenge reclaims them", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        yield* store.setStreamMetadata(stream, { maxCount: 3 })
        assert.deepStrictEqual(yield* store.getStreamMetadata(stream), { maxCount: 3 })
        const mark = yield* store.headPosition()
        yield* store.append(stream, "no_stream", events(5))
        assert.deepStrictEqual((yield* store.readStream(stream)).map((e) => e.revision), [2, 3, 4])
        const scavenged = yield* store.scavenge()
        assert.isAtLeast(scavenged.removed, 2)
        assert.deepStrictEqual((yield* logSince(mark, new Set([stream]))).map((e) => e.revision), [2, 3, 4])
        assert.strictEqual((yield* store.append(stream, 4, events(1))).revision, 5)
      }))

    it.effect("hides events past max age", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        yield* store.append(stream, "no_stream", yield* eventsNow(2))
        yield* store.setStreamMetadata(stream, { maxAge: 1 })
        assert.lengthOf(yield* store.readStream(stream), 2)
        yield* elapse("1500 millis")
        assert.deepStrictEqual(yield* store.readStream(stream), [])
        assert.strictEqual((yield* store.append(stream, 1, yield* eventsNow(1))).revision, 2)
        assert.deepStrictEqual((yield* store.readStream(stream)).map((e) => e.revision), [2])
      }))

    it.effect("applies max age again after a scavenge removed the oldest events", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        yield* store.append(stream, "no_stream", yield* eventsNow(2))
        yield* store.setStreamMetadata(stream, { maxAge: 1 })
        yield* elapse("1100 millis")
        yield* store.append(stream, 1, yield* eventsNow(2))
        yield* store.scavenge()
        assert.deepStrictEqual((yield* store.readStream(stream)).map((e) => e.revision), [2, 3])
        yield* elapse("1100 millis")
        assert.deepStrictEqual(yield* store.readStream(stream), [])
      }))

    it.effect("keeps the newest snapshot of a stream beside it, never in the stream or the global log", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        const head = yield* store.headPosition()
        yield* store.append(stream, "no_stream", events(3))
        assert.isUndefined(yield* store.readSnapshot(stream))
        yield* store.writeSnapshot(stream, { revision: 1, version: 2, state: { _tag: "Active", n: [1, 2] } })
        assert.deepStrictEqual(yield* store.readSnapshot(stream), { revision: 1, version: 2, state: { _tag: "Active", n: [1, 2] } })
        yield* store.writeSnapshot(stream, { revision: 2, version: 2, state: { n: 3 } })
        // An older snapshot written late (a slower node) does not replace the newer one.
        yield* store.writeSnapshot(stream, { revision: 0, version: 2, state: { n: 0 } })
        assert.deepStrictEqual(yield* store.readSnapshot(stream), { revision: 2, version: 2, state: { n: 3 } })
        assert.lengthOf(yield* store.readStream(stream), 3)
        assert.deepStrictEqual((yield* logSince(head, new Set([stream]))).length, 3)
        const tail = yield* store.readAll(head === undefined ? {} : { after: head })
        assert.isTrue(tail.every((e) => e.stream === stream || !e.stream.includes(stream)), "no snapshot in the global log")
        const refused = (snapshot: { readonly revision: number; readonly version: number; readonly state: unknown }, on = stream) =>
          store.writeSnapshot(on, snapshot).pipe(Effect.flip, Effect.map((e) => e._tag))
        assert.strictEqual(yield* refused({ revision: 3, version: 1, state: {} }, "has space"), "ValidationFailed")
        assert.strictEqual(yield* refused({ revision: -1, version: 1, state: {} }), "ValidationFailed")
        assert.strictEqual(yield* refused({ revision: 3, version: 0, state: {} }), "ValidationFailed")
        assert.strictEqual(yield* refused({ revision: 3, version: 1, state: { n: Number.NaN } }), "ValidationFailed")
        assert.deepStrictEqual(yield* store.readSnapshot(stream), { revision: 2, version: 2, state: { n: 3 } })
      }))

    it.effect("stores 1 MiB events and many small ones", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const big = freshStream()
        const payload = { blob: "x".repeat(1024 * 1024) }
        yield* store.append(big, "no_stream", [newEvent(payload), newEvent(payload)])
        const read = yield* store.readStream(big)
        assert.deepStrictEqual(read.map((e) => (e.data as typeof payload).blob.length), [1024 * 1024, 1024 * 1024])

        const small = freshStream()
        for (let batch = 0; batch < 20; batch++) yield* store.append(small, "any", events(100, batch * 100))
        const all = yield* store.readStream(small)
        assert.deepStrictEqual(all.map((e) => (e.data as { n: number }).n), Array.from({ length: 2000 }, (_, i) => i))
      }))

    it.effect("refuses bad input with ValidationFailed and stores nothing", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = freshStream()
        const head = yield* store.headPosition()
        const refused = (on: string, batch: ReadonlyArray<NewEvent>) =>
          store.append(on, "any", batch).pipe(
            Effect.flip,
            Effect.map((e) => e._tag)
          )
        assert.strictEqual(yield* refused("", events(1)), "ValidationFailed")
        assert.strictEqual(yield* refused("has space", events(1)), "ValidationFailed")
        assert.strictEqual(yield* refused(stream, []), "ValidationFailed")
        assert.strictEqual(yield* refused(stream, [newEvent({ blob: "x".repeat(maxEventBytes + 1) })]), "ValidationFailed")
        assert.strictEqual(yield* refused(stream, [newEvent(), newEvent({ bad: () => 1 })]), "ValidationFailed")
        assert.strictEqual(yield* refused(stream, [newEvent({ n: Number.NaN })]), "ValidationFailed")
        assert.strictEqual(yield* refused(stream, [newEvent({ when: new Date() })]), "ValidationFailed")
        assert.strictEqual(yield* refused(stream, [{ ...newEvent(), id: "not-a-uuid" }]), "ValidationFailed")
        const twice = newEvent()
        assert.strictEqual(yield* refused(stream, [twice, twice]), "ValidationFailed")
        assert.strictEqual(
          yield* store.readStream("").pipe(Effect.flip, Effect.map((e) => e._tag)),
          "ValidationFailed"
        )
        assert.deepStrictEqual(yield* store.readStream(stream), [])
        assert.strictEqual(yield* store.headPosition(), head)
      }))
  })
}
