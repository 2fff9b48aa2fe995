import { Clock, Effect, Ref, Stream } from "effect"
import type { Position, StoredEvent } from "../domain/envelope.ts"
import { parseStreamName } from "../domain/streams.ts"
import { untilItWorks } from "./backoff.ts"
import { Checkpoints } from "./checkpoints.ts"
import { EventBus } from "./eventBus.ts"
import { EventStore } from "./eventStore/eventStore.ts"
import { eventsAfter, type EventsBehind } from "./eventStore/eventsAfter.ts"

export const relayReader = "relay"

const batchSize = 4_096

/** Observations were committed on JetStream where they were produced; the relay never republishes them. */
const isObservation = (event: StoredEvent) => {
  const category = parseStreamName(event.stream)?.category
  return category === "heartbeat" || category === "telemetry"
}

export interface RelayFailure {
  readonly message: string
  /** Epoch milliseconds. */
  readonly atMs: number
}

export interface RelayStatus {
  readonly checkpoint: Position | undefined
  readonly published: number
  /** The latest failure to read, publish or checkpoint; kept after a recovery, for the record. */
  readonly lastError: RelayFailure | undefined
  /** The relay has failed since its checkpoint last moved. */
  readonly failing: boolean
  /** When the checkpoint last moved, or the relay was made (epoch milliseconds). */
  readonly progressAtMs: number
}

/** Events in the store after the checkpoint, counted up to a cap. */
export interface RelayLag extends EventsBehind {
  readonly checkpoint: Position | undefined
}

/** What the metrics endpoint reports: the status, the lag, and how long ago the checkpoint moved. */
export interface RelayHealth extends RelayStatus {
  readonly lag: RelayLag
  /** Grows while the relay is idle too: read it with the lag. */
  readonly sinceProgressMs: number
}

/**
 * Tails the store's global log from the relay's checkpoint and publishes each decision to JetStream,
 * then moves the checkpoint, so it never passes an event JetStream has not acknowledged. The bus stores the
 * events of one publish in order, each only after the one before it, so after any failure JetStream holds a
 * prefix of them and the relay resumes from its checkpoint without storing an event after a later one.
 * Events between the checkpoint and the failure are published again, and JetStream drops those copies
 * only within UMBRA_EVENTS' duplicate window: a crash between publish and checkpoint, restarted later than
 * the window, stores them a second time (in order among themselves, after the events that followed them).
 */
export const makeRelay = Effect.gen(function* () {
  const store = yield* EventStore
  const bus = yield* EventBus
  const checkpoints = yield* Checkpoints
  const status = yield* Ref.make<RelayStatus>({
    checkpoint: yield* checkpoints.load(relayReader),
    published: 0,
    lastError: undefined,
    failing: false,
    progressAtMs: yield* Clock.currentTimeMillis
  })

  /** How many events wait behind the checkpoint (counted up to `cap`, to keep the question cheap). */
  const lag = (cap?: number) =>
    Effect.gen(function* () {
      const { checkpoint } = yield* Ref.get(status)
      return { checkpoint, ...(yield* eventsAfter(store, checkpoint, cap)) } satisfies RelayLag
    })

  /** The lag for a log line; the store may be what failed. */
  const lagForLog = lag().pipe(
    Effect.map(({ pending, capped }) => (capped ? `${pending}+` : pending)),
    Effect.orElseSucceed(() => "unknown")
  )

  /**
   * Between tries. `limit`: events per publish, a whole batch except after a failure, when it starts again at
   * one and doubles with each success, so what JetStream acknowledged before the failure is checkpointed
   * within a few retries, well inside the duplicate window, rather than published again at every retry of a
   * long outage; and a slice of one expects nothing of the stream, so no state JetStream was left in (an
   * older relay's events out of order) can stop the relay. `inFlight`: the last position of the slice being
   * published. `failedThrough`: that of the slice that failed last; the relay has recovered once its
   * checkpoint reaches it.
   */
  const attempt = yield* Ref.make<{
    readonly limit: number
    readonly inFlight: Position | undefined
    readonly failedThrough: Position | undefined
  }>({ limit: batchSize, inFlight: undefined, failedThrough: undefined })

  const relaySlice = (slice: ReadonlyArray<StoredEvent>) =>
    Effect.gen(function* () {
      const checkpoint = slice[slice.length - 1]!.position
      yield* Ref.update(attempt, (a) => ({ ...a, inFlight: checkpoint }))
      const decisions = slice.filter((event) => !isObservation(event))
      if (decisions.length > 0) yield* bus.publishEvents(decisions)
      yield* checkpoints.save(relayReader, checkpoint)
      const { failedThrough } = yield* Ref.updateAndGet(attempt, (a) => ({ ...a, inFlight: undefined, limit: Math.min(batchSize, a.limit * 2) }))
      const now = yield* Clock.currentTimeMillis
      const recovered = failedThrough === undefined || checkpoint >= failedThrough
      const before = yield* Ref.getAndUpdate(status, (s) => ({
        ...s,
        checkpoint,
        published: s.published + decisions.length,
        failing: s.failing && !recovered,
        progressAtMs: now
      }))
      // At the failures' level, so that whoever sees them sees the end of them too.
      if (before.failing && recovered) {
        yield* Effect.logWarning("relay recovered", {
          lag: yield* lagForLog,
          error: before.lastError?.message,
          downMs: now - (before.lastError?.atMs ?? before.progressAtMs)
        })
      }
    })

  const relayBatch = (batch: ReadonlyArray<StoredEvent>) =>
    Effect.gen(function* () {
      for (let start = 0; start < batch.length;) {
        const { limit } = yield* Ref.get(attempt)
        yield* relaySlice(batch.slice(start, start + limit))
        start += limit
      }
    })

  const recordFailure = (error: { readonly message: string }) =>
    Effect.gen(function* () {
      const atMs = yield* Clock.currentTimeMillis
      yield* Ref.update(attempt, (a) => ({ limit: 1, inFlight: undefined, failedThrough: a.inFlight }))
      const { checkpoint } = yield* Ref.updateAndGet(status, (s) => ({ ...s, lastError: { message: error.message, atMs }, failing: true }))
      yield* Effect.logWarning("relay failed; resuming from its checkpoint", { error: error.message, lag: yield* lagForLog, checkpoint })
    })

  const tail = Effect.gen(function* () {
    const after = yield* checkpoints.load(relayReader)
    // The next batch is read while this one is published, and is whatever has been read by then (up to a
    // batch): no batch waits for reads or for a timer, and under load batches grow, as group commits do.
    // Larger batches keep JetStream's window full for longer, since each is acknowledged in full before the
    // checkpoint moves.
    const read = yield* store.subscribe(after === undefined ? {} : { after }).pipe(Stream.toQueue({ capacity: batchSize }))
    yield* Stream.fromQueue(read).pipe(Stream.runForEachArray(relayBatch))
  }).pipe(Effect.scoped)

  const health = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const current = yield* Ref.get(status)
    return { ...current, lag: yield* lag(), sinceProgressMs: now - current.progressAtMs } satisfies RelayHealth
  })

  return {
    /** Runs until interrupted, resuming from the checkpoint after any failure of the store or the bus. */
    run: tail.pipe(
      Effect.tapError(recordFailure),
      Effect.retry(untilItWorks),
      Effect.orDie, // retried forever: no failure is left
      Effect.annotateLogs({ component: "relay" })
    ),
    status: Ref.get(status),
    lag,
    health
  }
})
