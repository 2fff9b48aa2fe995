import { Clock, Deferred, Effect, Layer } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import { EventStore, type Snapshot, type StreamMetadata } from "../../src/eventStore/eventStore.ts"
import { positionFrom } from "../../src/eventStore/position.ts"
import { checkSnapshot, checkStreamName, prepareAppend } from "./appendGuard.ts"
import { planAppend, type StoredLocation } from "./appendRules.ts"
import { followLog } from "./followLog.ts"
import { firstVisibleRevision } from "./retention.ts"

/**
 * The in-memory store, for fast unit tests. Every operation runs synchronously inside one Effect step,
 * so fibers interleave only between operations, as they would between transactions.
 */
export const make = Effect.sync(() => {
  const log: Array<StoredEvent> = []
  const streams = new Map<string, Array<StoredEvent>>()
  // A stream's revision outlives the events a scavenge removes, as KurrentDB's does.
  const revisions = new Map<string, number>()
  const locations = new Map<string, StoredLocation>()
  const metadata = new Map<string, StreamMetadata>()
  const snapshots = new Map<string, Snapshot>()
  let nextPosition = 1n
  let appended = Deferred.makeUnsafe<void>()

  const visible = (stream: string, nowMs: number): ReadonlyArray<StoredEvent> => {
    const events = streams.get(stream) ?? []
    const last = events[events.length - 1]
    if (last === undefined) return events
    // Revisions survive a scavenge, so an event's index is its revision less the first one kept.
    const offset = events[0]!.revision
    const first = firstVisibleRevision(
      metadata.get(stream) ?? {},
      { firstStored: offset, lastRevision: last.revision },
      nowMs,
      (r) => events[r - offset]?.at
    )
    return first <= offset ? events : events.slice(first - offset)
  }

  const readAfter = (after: Position | undefined, limit: number): ReadonlyArray<StoredEvent> => {
    let lo = 0
    let hi = log.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (after !== undefined && log[mid]!.position <= after) lo = mid + 1
      else hi = mid
    }
    return log.slice(lo, lo + limit)
  }

  return EventStore.of({
    append: (stream, expected, events) =>
      Effect.gen(function* () {
        const prepared = yield* prepareAppend(stream, events)
        const existing = streams.get(stream)
        const current = revisions.get(stream) ?? -1
        const plan = planAppend(stream, expected, current, events.map((e) => e.id), (id) => locations.get(id))
        if (plan._tag === "Replay") return plan.result
        if (plan._tag !== "Write") return yield* plan
        const target = existing ?? []
        streams.set(stream, target)
        let revision = current
        for (const { event, data } of prepared) {
          revision++
          const position = positionFrom(nextPosition++)
          const stored: StoredEvent = { ...event, data: JSON.parse(data), stream, revision, position }
          target.push(stored)
          log.push(stored)
          locations.set(event.id, { stream, revision, position })
        }
        revisions.set(stream, revision)
        Deferred.doneUnsafe(appended, Effect.void)
        appended = Deferred.makeUnsafe<void>()
        return { revision, position: log[log.length - 1]!.position, appended: true }
      }),

    readStream: (stream, options = {}) =>
      Effect.gen(function* () {
        yield* checkStreamName(stream)
        const events = visible(stream, yield* Clock.currentTimeMillis)
        const limit = options.limit ?? Number.MAX_SAFE_INTEGER
        // Revisions are contiguous from the first kept event, so a revision's index is a subtraction.
        const offset = events[0]?.revision ?? 0
        if (options.direction === "backwards") {
          const end = Math.min(events.length, (options.from ?? Number.MAX_SAFE_INTEGER) - offset + 1)
          return events.slice(Math.max(0, end - limit), Math.max(0, end)).reverse()
        }
        const start = Math.max(0, (options.from ?? 0) - offset)
        return events.slice(start, start + limit)
      }),

    readAll: (options = {}) => Effect.sync(() => readAfter(options.after, options.limit ?? Number.MAX_SAFE_INTEGER)),

    listStreams: (options = {}) =>
      Effect.sync(() =>
        [...streams]
          .filter(([stream, events]) => events.length > 0 && stream.startsWith(options.prefix ?? "") && (options.after === undefined || stream > options.after))
          .map(([stream, events]) => ({ stream, revision: events[events.length - 1]!.revision }))
          .sort((a, b) => (a.stream < b.stream ? -1 : 1))
          .slice(0, options.limit ?? Number.MAX_SAFE_INTEGER)
      ),

    subscribe: (options = {}) =>
      followLog({
        after: options.after,
        pageSize: 512,
        readPage: (after, limit) => Effect.sync(() => readAfter(after, limit)),
        awaitNewer: (after) =>
          Effect.suspend(() => {
            const head = log[log.length - 1]?.position
            return head !== undefined && (after === undefined || head > after) ? Effect.void : Deferred.await(appended)
          })
      }),

    setStreamMetadata: (stream, value) =>
      checkStreamName(stream).pipe(Effect.andThen(Effect.sync(() => void metadata.set(stream, value)))),

    getStreamMetadata: (stream) => checkStreamName(stream).pipe(Effect.andThen(Effect.sync(() => metadata.get(stream) ?? {}))),

    readSnapshot: (stream) => checkStreamName(stream).pipe(Effect.andThen(Effect.sync(() => snapshots.get(stream)))),

    writeSnapshot: (stream, snapshot) =>
      Effect.andThen(
        checkSnapshot(stream, snapshot),
        Effect.sync(() => {
          // Stored as JSON would be: a later change to the caller's object never reaches the store.
          const kept = snapshots.get(stream)
          if (kept === undefined || kept.revision < snapshot.revision) snapshots.set(stream, JSON.parse(JSON.stringify(snapshot)))
        })
      ),

    scavenge: () =>
      Effect.map(Clock.currentTimeMillis, (nowMs) => {
        const hidden = new Set<StoredEvent>()
        for (const [stream, events] of streams) {
          const kept = visible(stream, nowMs)
          for (const event of events.slice(0, events.length - kept.length)) hidden.add(event)
          streams.set(stream, kept.slice())
        }
        for (const event of hidden) locations.delete(event.id)
        const remaining = log.filter((event) => !hidden.has(event))
        log.splice(0, log.length, ...remaining)
        return { removed: hidden.size }
      }),

    headPosition: () => Effect.sync(() => log[log.length - 1]?.position)
  })
})

export const layer = Layer.effect(EventStore, make)
