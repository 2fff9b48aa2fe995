import { spawn } from "node:child_process"
import { Deferred, Effect, Schema } from "effect"

export class WorkloadFailed extends Schema.TaggedError<WorkloadFailed>()("WorkloadFailed", {
  message: Schema.String
}) {}

export interface Workload {
  readonly pid: number
  /** Completes with the exit code when the workload ends by itself. */
  readonly exited: Deferred.Deferred<number>
}

const stopGraceMs = 5_000

/**
 * Starts the workload beside the agent (same environment, output to the agent's), and on release asks it to
 * stop with SIGTERM, then SIGKILL after a grace period. The agent supervises it: one process per container.
 */
export const startWorkload = (argv: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const [file, ...args] = argv
      if (file === undefined) return yield* new WorkloadFailed({ message: "UMBRA_WORKLOAD is empty" })
      const exited = yield* Deferred.make<number>()
      const child = yield* Effect.try({
        try: () => spawn(file, args, { stdio: ["ignore", "inherit", "inherit"], env: process.env }),
        catch: (cause) => new WorkloadFailed({ message: `cannot start ${file}: ${String(cause)}` })
      })
      const pid = yield* Effect.callback<number, WorkloadFailed>((resume) => {
        child.once("spawn", () => resume(Effect.succeed(child.pid ?? -1)))
        child.once("error", (error) => resume(Effect.fail(new WorkloadFailed({ message: `cannot start ${file}: ${error.message}` }))))
      })
      child.once("exit", (code, signal) => Deferred.doneUnsafe(exited, Effect.succeed(code ?? (signal === null ? 0 : 128))))
      yield* Effect.logInfo("workload started").pipe(Effect.annotateLogs({ pid, command: argv.join(" ") }))
      return { pid, exited, child }
    }),
    ({ child, exited }) =>
      Effect.gen(function* () {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill("SIGTERM")
        yield* Deferred.await(exited).pipe(
          Effect.timeoutOrElse({ duration: stopGraceMs, orElse: () => Effect.sync(() => child.kill("SIGKILL")) })
        )
      })
  ).pipe(Effect.map(({ pid, exited }): Workload => ({ pid, exited })))
