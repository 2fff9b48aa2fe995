import { Duration, Effect, Schedule } from "effect"

const firstRetryMs = 100
const longestWaitMs = 5_000
/** How long a try must run before failing for its outage to count as a new one. */
const recoveredAfterMs = 60_000

/**
 * For loops that must outlive outages: retry forever, 100 ms doubling up to 5 s between tries. A try that
 * ran a minute before it failed had recovered: the waits start again at 100 ms, so a long-running reader's
 * next outage is not met with the last one's longest wait.
 */
export const untilItWorks = Schedule.fromStepWithMetadata(
  Effect.sync(() => {
    let waitMs = 0
    return ({ elapsedSincePrevious }: { readonly elapsedSincePrevious: number }) => {
      const ranMs = elapsedSincePrevious - waitMs
      waitMs = waitMs === 0 || ranMs >= recoveredAfterMs ? firstRetryMs : Math.min(longestWaitMs, waitMs * 2)
      return Effect.succeed([waitMs, Duration.millis(waitMs)] as [number, Duration.Duration])
    }
  })
)

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
