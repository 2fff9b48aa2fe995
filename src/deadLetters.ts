import { Context, type Effect, type Scope } from "effect"
import type { BusUnavailable, DeliveredSignal } from "./eventBus.ts"

/** A message a consumer could not handle, parked in UMBRA_DLQ with where it came from and why. */
export interface DeadLetter {
  /** Its sequence in UMBRA_DLQ: what `umbra dlq show|retry` name. */
  readonly seq: number
  /** The durable consumer or reader that parked it. */
  readonly consumer: string
  /** The last failure's tag and message. */
  readonly reason: string
  /** The stream it came from and its sequence there. */
  readonly stream: string
  readonly streamSeq: number
  readonly subject: string
  /** How often it was delivered before it was parked (0 for a reader without deliveries). */
  readonly deliveries: number
  readonly parkedAt: string
  /** The original message's bytes. */
  readonly data: Uint8Array
}

/**
 * Failures that heal by themselves (the store, the bus or the runtime's engine is down): a consumer waits
 * them out, and never parks what failed with one of them.
 */
export const isOutage = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "_tag" in error &&
  (error._tag === "StoreUnavailable" || error._tag === "BusUnavailable" ||
    (error._tag === "RuntimeFailed" && "engineUnavailable" in error && error.engineUnavailable === true))

/**
 * Where messages that cannot be handled go instead of being retried forever. Durable consumers of
 * UMBRA_EVENTS park theirs by themselves (see `EventBus.consumeEvents`); readers of UMBRA_SIGNALS with a
 * checkpoint park through this port and move on.
 */
export class DeadLetters extends Context.Service<DeadLetters, {
  /** Parks a signal under `consumer` (the reader's name); succeeds once JetStream stored it. */
  readonly parkSignal: (consumer: string, signal: DeliveredSignal, reason: string) => Effect.Effect<void, BusUnavailable>
  /**
   * Answers `umbra dlq retry` for `consumer`'s dead letters until the scope closes: a letter is removed
   * from UMBRA_DLQ when the handler succeeds on it, and kept when it fails.
   */
  readonly serveRetries: <E>(
    consumer: string,
    handler: (letter: DeadLetter) => Effect.Effect<void, E>
  ) => Effect.Effect<void, BusUnavailable, Scope.Scope>
  /** Dead letters parked by this process since it started, per consumer (for the metrics endpoint). */
  readonly parked: Effect.Effect<ReadonlyMap<string, number>>
}>()("umbra/DeadLetters") {}
