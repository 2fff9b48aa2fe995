import { Effect } from "effect"

/** Ready when the workload's URL answers 2xx within the timeout; no URL means ready once started. */
export const probeReady = (url: URL | undefined, timeoutMs = 800): Effect.Effect<boolean> =>
  url === undefined
    ? Effect.succeed(true)
    : Effect.tryPromise(async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
      await response.body?.cancel()
      return response.ok
    }).pipe(Effect.orElseSucceed(() => false))
