import { Effect, Layer } from "effect"
import { Worker } from "node:worker_threads"
import { closeThread } from "../closeThread.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { TelemetryApplier } from "../../src/telemetry/telemetryApplier.ts"
import type { BatchOutcome, TelemetryBatch } from "../../src/telemetry/telemetryBatch.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"
import { packBatch } from "./telemetryThreadMessages.ts"

/** The thread's answer to a batch: what became of it, or why it was not applied. */
type Answer = { readonly outcome: BatchOutcome; readonly error?: undefined } | { readonly error: string }

/**
 * The applier thread's client. A thread that dies fails the batches it was sent (their rows and checkpoint
 * commit together, so the ingest resumes from what did commit) and is started again for the next batch.
 * The thread keeps the process alive only while a batch is out.
 */
const threadApplier = (file: string) => {
  let worker: Worker | undefined
  let next = 0
  const waiting = new Map<number, (answer: Answer) => void>()

  const start = (): Worker => {
    const started = new Worker(new URL("./telemetryThreadMain.ts", import.meta.url), { workerData: { file } })
    started.on("message", ({ id, ...answer }: { readonly id: number } & Answer) => {
      const settle = waiting.get(id)
      waiting.delete(id)
      if (waiting.size === 0) started.unref()
      settle?.(answer)
    })
    const gone = (cause: unknown) => {
      if (worker === started) worker = undefined
      for (const [id, settle] of waiting) {
        waiting.delete(id)
        settle({ error: `the telemetry thread stopped: ${cause instanceof Error ? cause.message : String(cause)}` })
      }
    }
    started.on("error", gone)
    started.on("exit", (code) => gone(`exit code ${code}`))
    return started
  }

  const submit = (batch: TelemetryBatch) =>
    Effect.sync(() => {
      const id = next++
      const { packed, transfer } = packBatch(id, batch)
      const answered = new Promise<Answer>((resolve) => waiting.set(id, resolve))
      worker ??= start()
      worker.ref()
      worker.postMessage(packed, transfer)
      return Effect.promise(() => answered).pipe(
        Effect.flatMap((answer) =>
          answer.error === undefined ? Effect.succeed(answer.outcome) : Effect.fail(new StoreUnavailable({ message: `telemetry batch not applied: ${answer.error}` }))
        )
      )
    })

  const close = async () => {
    const closing = worker
    worker = undefined
    if (closing === undefined) return
    await closeThread(closing)
  }

  return { submit, close }
}

/**
 * Batches applied on a thread of their own when the read models are in a file (the thread opens it too),
 * and on the caller's fiber when they are in memory, where no other connection could see them.
 */
export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const file = (yield* ReadModelDatabase).location()
    if (file === null) return TelemetryApplier.inThread
    return Layer.effect(
      TelemetryApplier,
      Effect.acquireRelease(
        Effect.sync(() => threadApplier(file)),
        (applier) => Effect.promise(applier.close)
      ).pipe(Effect.map(({ submit }) => TelemetryApplier.of({ submit })))
    )
  })
)
