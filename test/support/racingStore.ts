import { Effect, Random, Ref } from "effect"
import { wrappedStore } from "./wrappedStore.ts"

/**
 * Wraps the EventStore in context so that every stream read takes up to `maxDelayMs` before it answers, as a
 * remote store would: a second writer then appends between a handler's read and its append, and the handler
 * meets real ConcurrencyConflicts. Counts the conflicts the store refuses appends with.
 */
export const racingStore = (maxDelayMs: number, conflicts: Ref.Ref<number>) =>
  wrappedStore((store) => ({
    readStream: (stream, options) =>
      store.readStream(stream, options).pipe(Effect.tap(() => Random.nextBetween(0, maxDelayMs).pipe(Effect.flatMap((ms) => Effect.sleep(ms))))),
    append: (stream, expected, events) =>
      store.append(stream, expected, events).pipe(
        Effect.tapError((error) => (error._tag === "ConcurrencyConflict" ? Ref.update(conflicts, (n) => n + 1) : Effect.void))
      )
  }))
