import { Effect, Fiber, Schedule } from "effect"

/** What a finished step says: a line for a person, and the figures `--json` carries. */
export interface StepOutcome<A> {
  readonly summary: string
  readonly details?: Readonly<Record<string, unknown>>
  readonly value: A
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/**
 * How the demo tells its steps: on stdout, a line per step with the time it took and since the start, or with
 * `json` one JSON document per milestone (`{"milestone", "ok", "tookMs", "elapsedMs", "summary", ...details}`).
 */
export const makeDemoReport = (json: boolean) => {
  const startedAt = performance.now()
  const write = (line: string) => process.stdout.write(`${line}\n`)
  // On a terminal a running step redraws its line with the seconds so far; elsewhere each line is written once.
  const tty = !json && process.stdout.isTTY === true
  const elapsed = () => Math.round(performance.now() - startedAt)

  /** A milestone with no duration of its own (where the dashboard is, which traces play). */
  const note = (milestone: string, summary: string, details: Readonly<Record<string, unknown>> = {}) =>
    Effect.sync(() => write(json ? JSON.stringify({ milestone, ok: true, tookMs: 0, elapsedMs: elapsed(), summary, ...details }) : `  · ${summary}`))

  /** Runs one step, saying what it is about to do, then what happened and how long it took (or why it failed). */
  const step = <A, E, R>(milestone: string, title: string, effect: Effect.Effect<StepOutcome<A>, E, R>) =>
    Effect.gen(function* () {
      const begun = performance.now()
      const running = () => `▶ ${title} … ${seconds(performance.now() - begun)}`
      const ticking = tty
        ? yield* Effect.forkChild(Effect.sync(() => process.stdout.write(`\r\x1b[2K${running()}`)).pipe(Effect.repeat(Schedule.spaced("1 second"))))
        : undefined
      if (!json && !tty) write(`▶ ${title}`)
      const outcome = yield* effect.pipe(
        Effect.ensuring(ticking === undefined ? Effect.void : Fiber.interrupt(ticking).pipe(Effect.andThen(Effect.sync(() => process.stdout.write("\r\x1b[2K"))))),
        Effect.tapError((error) =>
          Effect.sync(() => {
            const message = error instanceof Error ? error.message : String(error)
            write(json ? JSON.stringify({ milestone, ok: false, tookMs: Math.round(performance.now() - begun), elapsedMs: elapsed(), error: message }) : `✗ ${title}: ${message}`)
          })
        )
      )
      const took = Math.round(performance.now() - begun)
      write(
        json
          ? JSON.stringify({ milestone, ok: true, tookMs: took, elapsedMs: elapsed(), summary: outcome.summary, ...outcome.details })
          : `✓ ${outcome.summary}  (${seconds(took)}; ${seconds(elapsed())} in)`
      )
      return outcome.value
    })

  return { note, step, elapsed }
}

export type DemoReport = ReturnType<typeof makeDemoReport>
