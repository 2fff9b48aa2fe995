/**
 * The SQLite store's writer: a worker thread with its own connection that commits each group of appends it
 * is sent, so that the commit's fsync blocks this thread and never the control plane's event loop.
 */
import { parentPort, workerData } from "node:worker_threads"
import { type AppendRequest, makeAppender } from "./sqliteAppender.ts"
import { openEventDatabase } from "./sqliteSchema.ts"

export interface WriterOptions {
  readonly file: string
  readonly busyTimeoutMillis: number
}

/** A group to commit, numbered by the store so that it can match the answer. */
export interface WriteGroup {
  readonly group: number
  readonly requests: ReadonlyArray<AppendRequest>
}

const { file, busyTimeoutMillis } = workerData as WriterOptions
const db = openEventDatabase(file, busyTimeoutMillis)
const commitGroup = makeAppender(db)

// `null` asks the thread to close: it comes after every group already sent, so those are written first.
parentPort!.on("message", (message: WriteGroup | null) => {
  if (message === null) {
    db.close()
    parentPort!.close()
    return
  }
  parentPort!.postMessage({ group: message.group, outcomes: commitGroup(message.requests) })
})
