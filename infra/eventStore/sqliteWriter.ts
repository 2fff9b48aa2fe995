import { Worker } from "node:worker_threads"
import { closeThread } from "../closeThread.ts"
import type { AppendOutcome, AppendRequest } from "./sqliteAppender.ts"
import { unavailableOutcome } from "./sqliteAppender.ts"
import type { WriteGroup, WriterOptions } from "./sqliteWriterThread.ts"

/** Commits groups of appends, one at a time, in order. */
export interface GroupWriter {
  readonly write: (requests: ReadonlyArray<AppendRequest>) => Promise<ReadonlyArray<AppendOutcome>>
  /** Starts the thread now, if none runs, so that the first write does not wait for it to load its code. */
  readonly prepare: () => void
  /** Lets the group being written finish, then closes the writer's connection. */
  readonly close: () => Promise<void>
}

/**
 * The writer thread's client. A thread that dies fails what it was writing (the appends may or may not have
 * committed: a retry with the same ids answers which) and is started again for the next group. The thread
 * keeps the process alive only while a group is out.
 */
export const threadWriter = (options: WriterOptions): GroupWriter => {
  let worker: Worker | undefined
  let next = 0
  const waiting = new Map<number, { readonly count: number; readonly settle: (outcomes: ReadonlyArray<AppendOutcome>) => void }>()

  const failAll = (cause: unknown) => {
    const failed = unavailableOutcome("writer", cause)
    for (const [group, { count, settle }] of waiting) {
      waiting.delete(group)
      settle(Array.from({ length: count }, () => failed))
    }
  }

  const start = (): Worker => {
    const started = new Worker(new URL("./sqliteWriterThread.ts", import.meta.url), { workerData: options })
    started.on("message", ({ group, outcomes }: { group: number; outcomes: ReadonlyArray<AppendOutcome> }) => {
      const entry = waiting.get(group)
      waiting.delete(group)
      if (waiting.size === 0) started.unref()
      entry?.settle(outcomes)
    })
    const gone = (cause: unknown) => {
      if (worker === started) worker = undefined
      failAll(cause)
    }
    started.on("error", gone)
    started.on("exit", (code) => gone(new Error(`the writer thread exited (${code})`)))
    started.unref()
    return started
  }

  return {
    prepare: () => {
      worker ??= start()
    },
    write: (requests) =>
      new Promise((resolve) => {
        const group = next++
        waiting.set(group, { count: requests.length, settle: resolve })
        worker ??= start()
        worker.ref()
        worker.postMessage({ group, requests } satisfies WriteGroup)
      }),
    close: async () => {
      const closing = worker
      worker = undefined
      if (closing === undefined) return
      await closeThread(closing)
    }
  }
}
