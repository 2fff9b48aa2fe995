import { spawn } from "node:child_process"
import { Deferred, Effect, Exit, Schema, Scope } from "effect"
import { lowerPriority } from "./workloadPriority.ts"

export class WorkloadFailed extends Schema.TaggedError<WorkloadFailed>()("WorkloadFailed", {
  message: Schema.String
}) {}

export interface Workload {
  readonly pid: number
  /** Completes with the exit code when the workload ends by itself. */
  readonly exited: Deferred.Deferred<number>
}

const stopGraceMs = 5_000

/** The agent's credentials are its own: the tenant's code never gets them handed over. */
const agentOnly = new Set(["NATS_USER", "NATS_PASSWORD", "NATS_CREDS"])

export const workloadEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !agentOnly.has(name)))

/**
 * Starts the workload beside the agent (its environment less the agent's NATS credentials, output to the
 * agent's, its priority below the agent's), and on release asks it to stop with SIGTERM, then SIGKILL after
 * a grace period. The agent supervises it: one process per container.
 */
export const startWorkload = (argv: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const [file, ...args] = argv
      if (file === undefined) return yield* new WorkloadFailed({ message: "UMBRA_WORKLOAD is empty" })
      const exited = yield* Deferred.make<number>()
      const child = yield* Effect.try({
        try: () => spawn(file, args, { stdio: ["ignore", "inherit", "inherit"], env: workloadEnv(process.env) }),
        catch: (cause) => new WorkloadFailed({ message: `cannot start ${file}: ${String(cause)}` })
      })
      const pid = yield* Effect.callback<number, WorkloadFailed>((resume) => {
        child.once("spawn", () => resume(Effect.succeed(child.pid ?? -1)))
        child.once("error", (error) => resume(Effect.fail(new WorkloadFailed({ message: `cannot start ${file}: ${error.message}` }))))
      })
      child.once("exit", (code, signal) => Deferred.doneUnsafe(exited, Effect.succeed(code ?? (signal === null ? 0 : 128))))
      yield* lowerPriority(pid)
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

/** The workload as the agent supervises it: restarted on demand; `exited` completes when it ends by itself. */
export interface SupervisedWorkload {
  readonly pid: Effect.Effect<number>
  /** Starts it again (after a stop, or in place of the run that is going). */
  readonly restart: Effect.Effect<void, WorkloadFailed>
  /** Stops the run that is going, until the next restart: a stop is not the workload ending. */
  readonly stop: Effect.Effect<void>
  readonly exited: Deferred.Deferred<number>
}

/**
 * Starts the workload in a scope of its own, so that it can be stopped and started again (a pooled shadow
 * claimed by another client starts its workload afresh: its state was emptied for the pool). A run replaced
 * by a restart does not count as the workload ending; a restart that fails does.
 */
export const superviseWorkload = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const outer = yield* Effect.scope
    const exited = yield* Deferred.make<number>()
    const run = Effect.gen(function* () {
      const scope = yield* Scope.fork(outer)
      const workload = yield* startWorkload(argv).pipe(Scope.provide(scope))
      const running = { scope, workload, replaced: false }
      yield* Deferred.await(workload.exited).pipe(
        Effect.flatMap((code) => (running.replaced ? Effect.void : Deferred.succeed(exited, code))),
        Effect.forkIn(outer)
      )
      return running
    })
    let current = yield* run
    const stop = Effect.gen(function* () {
      current.replaced = true
      yield* Scope.close(current.scope, Exit.void)
    })
    const restart = Effect.gen(function* () {
      yield* stop
      // A workload that cannot start again ends the agent, as one that exits does.
      current = yield* run.pipe(Effect.tapError(() => Deferred.succeed(exited, 1)))
      yield* Effect.logInfo("workload restarted").pipe(Effect.annotateLogs({ pid: current.workload.pid }))
    })
    return { pid: Effect.sync(() => current.workload.pid), restart, stop, exited } satisfies SupervisedWorkload
  })
