import { DateTime, Effect, Ref, Stream } from "effect"
import { schemaVersionOf } from "../../domain/catalog.ts"
import type { NewEvent, Position } from "../../domain/envelope.ts"
import { ValidationFailed } from "../../domain/errors.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import { streamName } from "../../domain/streams.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import { resumingFromCheckpoint } from "../backoff.ts"
import { Checkpoints } from "../checkpoints.ts"
import { type DeadLetter, DeadLetters } from "../deadLetters.ts"
import { type DeliveredSignal, EventBus } from "../eventBus.ts"
import { EventStore, type StreamMetadata } from "../eventStore/eventStore.ts"
import { positionFrom, positionToBigInt } from "../eventStore/position.ts"
import { type DecodedSignal, decodeBatch, decodeSignal } from "./signalDecoding.ts"

export const archiverReader = "archiver"

/** How long the store keeps archived observations; stream metadata, so a scavenge reclaims them. */
export const observationRetention: Readonly<Record<DecodedSignal["kind"], StreamMetadata>> = {
  hb: { maxAge: 24 * 60 * 60 },
  tm: { maxAge: 35 * 24 * 60 * 60 }
}

const streamOf = (signal: DecodedSignal) =>
  signal.kind === "hb"
    ? streamName("heartbeat", signal.tenant, signal.heartbeat.instanceId)
    : streamName("telemetry", signal.tenant, signal.sample.instanceId)

/** The id of an archived signal comes from its JetStream sequence: archiving it again appends nothing. */
const toEvent = (signal: DecodedSignal, at: string): NewEvent => {
  const type = signal.kind === "hb" ? "HeartbeatRecorded" : "TelemetryRecorded"
  return {
    id: nameBasedId(`signal/${signal.seq}`),
    type,
    at: signal.kind === "hb" ? signal.heartbeat.at : signal.sample.at,
    tenant: signal.tenant,
    correlationId: nameBasedId(`signal/${signal.seq}`),
    causationId: nameBasedId(`signal/${signal.seq}`),
    schemaVersion: schemaVersionOf(type),
    data: signal.kind === "hb" ? { ...signal.heartbeat, recordedAt: at } : { ...signal.sample, recordedAt: at }
  }
}

/**
 * Stores every heartbeat and telemetry sample in the event store (`heartbeat-<tenant>.<id>`,
 * `telemetry-<tenant>.<id>`), a batch at a time, with retention set on each stream. Observations were
 * committed on JetStream where they were made; the relay never republishes these streams. A signal that
 * does not decode, or that the store refuses, is parked in UMBRA_DLQ and the archiver moves on; an outage
 * of the store or the bus is waited out from the checkpoint. Runs its dead letters' retries in the current scope.
 */
export const makeArchiver = Effect.gen(function* () {
  const bus = yield* EventBus
  const store = yield* EventStore
  const checkpoints = yield* Checkpoints
  const deadLetters = yield* DeadLetters
  const archived = yield* Ref.make(0)
  const withRetention = new Set<string>()

  const appendAll = (stream: string, events: ReadonlyArray<NewEvent>) =>
    store.append(stream, "any", events).pipe(
      // A batch cut differently after a restart holds ids stored before and ids that are new: one by one,
      // each is either answered as already there or appended.
      Effect.catchTag("DuplicateEventId", () => Effect.forEach(events, (event) => store.append(stream, "any", [event]), { discard: true }))
    )

  const archive = (signals: ReadonlyArray<DecodedSignal>) =>
    Effect.gen(function* () {
      const at = DateTime.formatIso(yield* DateTime.now)
      const byStream = new Map<string, { readonly kind: DecodedSignal["kind"]; readonly events: Array<NewEvent> }>()
      for (const signal of signals) {
        const stream = streamOf(signal)
        const entry = byStream.get(stream) ?? { kind: signal.kind, events: [] }
        entry.events.push(toEvent(signal, at))
        byStream.set(stream, entry)
      }
      for (const [stream, { kind, events }] of byStream) {
        if (!withRetention.has(stream)) {
          yield* store.setStreamMetadata(stream, observationRetention[kind])
          withRetention.add(stream)
        }
        yield* appendAll(stream, events)
      }
      yield* Ref.update(archived, (n) => n + signals.length)
    })

  const park = (signal: DeliveredSignal, reason: string) => deadLetters.parkSignal(archiverReader, signal, reason)
  const undecodable = "not a heartbeat or telemetry sample of the instance its subject names"

  /**
   * Archives a batch; when the store refuses it, each signal alone, parking those it refuses. Signals
   * dropped by decoding are parked when they do not decode at all (an untimely one is only dropped).
   */
  const archiveBatch = (delivered: ReadonlyArray<DeliveredSignal>) =>
    Effect.gen(function* () {
      // Dependency reports are no observation to keep: what they change, the profile records (DependenciesInferred).
      const batch = delivered.filter((signal) => parseSignalSubject(signal.subject)?.kind !== "dp")
      const { decoded } = yield* decodeBatch(batch, archiverReader)
      const kept = new Set(decoded.map((signal) => signal.seq))
      const bySeq = new Map(batch.map((signal) => [signal.seq, signal]))
      for (const signal of batch) {
        if (!kept.has(signal.seq) && decodeSignal(signal) === undefined) yield* park(signal, `Undecodable: ${undecodable}`)
      }
      yield* archive(decoded).pipe(
        Effect.catchTag("ValidationFailed", () =>
          Effect.forEach(decoded, (signal) =>
            archive([signal]).pipe(Effect.catchTag("ValidationFailed", (error) => park(bySeq.get(signal.seq)!, `ValidationFailed: ${error.message}`))), { discard: true })
        )
      )
      yield* checkpoints.save(archiverReader, positionFrom(delivered[delivered.length - 1]!.seq))
    })

  /** `umbra dlq retry`: the letter as the signal it was, archived alone. */
  const retry = (letter: DeadLetter) => {
    const signal = decodeSignal({ seq: letter.streamSeq, subject: letter.subject, data: letter.data })
    return signal === undefined ? Effect.fail(new ValidationFailed({ message: undecodable, details: {} })) : archive([signal])
  }
  yield* deadLetters.serveRetries(archiverReader, retry)

  const follow = Effect.gen(function* () {
    const checkpoint: Position | undefined = yield* checkpoints.load(archiverReader)
    const from = checkpoint === undefined ? 1 : Number(positionToBigInt(checkpoint)) + 1
    yield* bus.followSignals({ filterSubject: "umbra.sig.>", from }).pipe(
      Stream.groupedWithin(1_000, "500 millis"),
      Stream.runForEach(archiveBatch)
    )
  })

  return {
    run: resumingFromCheckpoint("archiver")(follow),
    archived: Ref.get(archived)
  }
})
