import {
  DiscardPolicy,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig
} from "@nats-io/jetstream"
import { nanos } from "@nats-io/transport-node"
import { Duration, Effect, Layer } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { BusUnavailable } from "../../src/eventBus.ts"
import { NatsConnection } from "./connection.ts"

export const streamNames = { events: "UMBRA_EVENTS", signals: "UMBRA_SIGNALS", deadLetters: "UMBRA_DLQ" } as const

export interface JetStreamSetupOptions {
  /** How long UMBRA_EVENTS remembers a `Nats-Msg-Id` to drop a republished event (default 10 minutes). */
  readonly eventsDuplicateWindow?: Duration.Input
  /** How long UMBRA_SIGNALS keeps heartbeats and telemetry (default 24 hours). */
  readonly signalsMaxAge?: Duration.Input
}

const nanosOf = (duration: Duration.Input) => nanos(Duration.toMillis(duration))

export const streamConfigs = (options: JetStreamSetupOptions = {}): ReadonlyArray<Partial<StreamConfig> & { name: string }> => [
  {
    name: streamNames.events,
    subjects: [subjects.eventsRoot],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanosOf(options.eventsDuplicateWindow ?? "10 minutes")
  },
  {
    name: streamNames.signals,
    subjects: [subjects.signalsRoot],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanosOf(options.signalsMaxAge ?? "24 hours"),
    // Agents publish signals without waiting for an acknowledgement, and nats-server does not check a reply
    // subject against the sender's permissions: an acknowledgement to a reply naming `umbra.evt.…` would be
    // stored in UMBRA_EVENTS.
    no_ack: true
  },
  {
    // Bounded in age and in letters per consumer (past that, the consumer's oldest go), so a flood of poison
    // neither grows it without end nor stops the consumer that parks it. No max_bytes: JetStream reserves
    // that from the server's file store up front and refuses the stream where the store is smaller. The
    // dedupe window drops a letter parked again after a crash.
    name: streamNames.deadLetters,
    subjects: [subjects.deadLettersRoot],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanosOf("30 days"),
    max_msgs_per_subject: 10_000,
    duplicate_window: nanosOf("10 minutes")
  }
]

const isStreamNotFound = (cause: unknown) =>
  cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.StreamNotFound

/** Creates UMBRA_EVENTS, UMBRA_SIGNALS and UMBRA_DLQ, or updates them to this configuration when they exist. */
export const ensureStreams = Effect.fn("JetStreamSetup.ensureStreams")(function* (options: JetStreamSetupOptions = {}) {
  const nc = yield* NatsConnection
  yield* Effect.tryPromise({
    try: async () => {
      const jsm = await jetstreamManager(nc)
      for (const config of streamConfigs(options)) {
        const exists = await jsm.streams.info(config.name).then(
          () => true,
          (cause: unknown) => {
            if (isStreamNotFound(cause)) return false
            throw cause
          }
        )
        await (exists ? jsm.streams.update(config.name, config) : jsm.streams.add(config))
      }
    },
    catch: (cause) => new BusUnavailable({ message: `cannot set up JetStream streams: ${String(cause)}` })
  })
})

/** Ensures the streams when the layer is built. */
export const layer = (options: JetStreamSetupOptions = {}): Layer.Layer<never, BusUnavailable, NatsConnection> =>
  Layer.effectDiscard(ensureStreams(options))
