import { Effect, References } from "effect"

/**
 * Runs a benchmark's Effect with warnings and errors only: Effect's default logger writes to stdout, where
 * `--json` must print nothing but its one document.
 */
export const runQuiet = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provideService(References.MinimumLogLevel, "Warn")))
