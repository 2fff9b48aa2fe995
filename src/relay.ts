import { Effect, Ref, Stream } from "effect"
import type { Position, StoredEvent } from "../domain/envelope.ts"
import { parseStreamName } from "../domain/streams.ts"
import { resumingFromCheckpoint } from "./backoff.ts"
import { Checkpoints } from "./checkpoints.ts"
import { EventBus } from "./eventBus.ts"
import { EventStore } from "./eventStore/eventStore.ts"

export const relayReader = "relay"

const batchSize = 4_096

/** Observations were committed on JetStream where they were produced; the relay never republishes them. */
const isObservation = (event: StoredEvent) => {
  const category = parseStreamName(event.stream)?.category
  return category === "heartbeat" || category === "telemetry"
}

export interface RelayStatus {
  readonly checkpoint: Position | undefined
  readonly published: number
}

/**
 * Tails the store's global log from the relay's checkpoint and publishes each decision to JetStream,
 * then moves the checkpoint. A crash between the two publishes the batch again on restart; JetStream's
 * duplicate window drops the copies, since the message id is the event id.
 */
export const makeRelay = Effect.gen(function* () {
  const store = yield* EventStore
  const bus = yield* EventBus
  const checkpoints = yield* Checkpoints
  const status = yield* Ref.make<RelayStatus>({ checkpoint: yield* checkpoints.load(relayReader), published: 0 })

  const relayBatch = (batch: ReadonlyArray<StoredEvent>) =>
    Effect.gen(function* () {
      const decisions = batch.filter((event) => !isObservation(event))
      if (decisions.length > 0) yield* bus.publishEvents(decisions)
      const checkpoint = batch[batch.length - 1]!.position
      yield* checkpoints.save(relayReader, checkpoint)
      yield* Ref.update(status, (s) => ({ checkpoint, published: s.published + decisions.length }))
    })

  const tail = Effect.gen(function* () {
    const after = yield* checkpoints.load(relayReader)
    // Catch-up pages arrive back to back: larger batches keep JetStream's window full for longer, since
    // each batch is acknowledged in full before the checkpoint moves.
    yield* store
      .subscribe(after === undefined ? {} : { after })
      .pipe(Stream.groupedWithin(batchSize, "5 millis"), Stream.runForEach(relayBatch))
  })

  /** How many events wait behind the checkpoint (counted up to `cap`, to keep the question cheap). */
  const lag = (cap = 10_000) =>
    Effect.gen(function* () {
      const { checkpoint } = yield* Ref.get(status)
      const pending = yield* store.readAll(checkpoint === undefined ? { limit: cap } : { after: checkpoint, limit: cap })
      return { checkpoint, pending: pending.length, capped: pending.length === cap }
    })

  return {
    /** Runs until interrupted, resuming from the checkpoint after any failure of the store or the bus. */
    run: resumingFromCheckpoint("relay")(tail),
    status: Ref.get(status),
    lag
  }
})
