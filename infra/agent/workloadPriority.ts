import { readdir } from "node:fs/promises"
import { setPriority } from "node:os"
import { Effect } from "effect"

/**
 * The workload's nice value, the lowest priority: within the instance's CPU quota the scheduler gives the
 * agent (nice 0) its turn first, so a warm-up that keeps every thread busy does not hold back heartbeats, and
 * the workload still has whatever the agent leaves. Unprivileged (no CAP_SYS_NICE, RLIMIT_NICE 0), the
 * workload cannot raise it back.
 */
export const workloadNice = 19

const reniceThread = (tid: number) => {
  try {
    setPriority(tid, workloadNice)
  } catch {
    // The thread ended meanwhile.
  }
}

/**
 * Lowers every thread of the process `pid` to `workloadNice`. Linux keeps a nice value per thread and
 * setpriority sets one: the main thread first, so that the threads it starts from then on inherit it, then
 * each thread it had already started (Node starts its helpers before any of its code runs). The processes
 * the workload starts inherit it too. Without it the instance still runs, so a failure is only logged.
 */
export const lowerPriority = (pid: number): Effect.Effect<void> =>
  Effect.tryPromise(async () => {
    setPriority(pid, workloadNice)
    // Without /proc (not Linux) the process's value is all there is.
    const threads = await readdir(`/proc/${pid}/task`).catch((): Array<string> => [])
    for (const tid of threads) reniceThread(Number(tid))
  }).pipe(
    Effect.catch((error) =>
      Effect.logWarning("cannot lower the workload's priority: its warm-up may delay heartbeats").pipe(
        Effect.annotateLogs({ pid, error: String(error.cause ?? error) })
      )
    )
  )
