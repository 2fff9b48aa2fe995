import { Effect, Schedule } from "effect"

/** For loops that must outlive outages: retry forever, 100 ms doubling up to 5 s between tries. */
export const untilItWorks = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])

/**
 * A checkpointed reader (relay, archiver, ingest) that, after any failure of what it reads or writes, logs
 * and starts again from its checkpoint, until interrupted.
 */
export const resumingFromCheckpoint =
  (component: string) =>
  <A, E extends { readonly message: string }, R>(reader: Effect.Effect<A, E, R>): Effect.Effect<A, never, R> =>
    reader.pipe(
      Effect.tapError((error) => Effect.logWarning(`${component} interrupted; resuming from its checkpoint`, { error: error.message })),
      Effect.retry(untilItWorks),
      Effect.annotateLogs({ component })
    ) as Effect.Effect<A, never, R> // retried forever: no failure is left to the caller
