/**
 * The telemetry ingest's applier thread: with its own connection to the read-model database, it folds each
 * batch it is sent into the telemetry rows, so that the control plane's event loop only reads, decodes and
 * attributes the samples. Batches are applied one at a time, in the order they arrive.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"
import * as sqliteProjections from "./sqliteProjections.ts"
import { type PackedBatch, unpackBatch } from "./telemetryThreadMessages.ts"

const { file } = workerData as { readonly file: string }
const runtime = ManagedRuntime.make(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer), Layer.provide(ReadModelDatabase.layer(file))))

const apply = async (packed: PackedBatch) => {
  const { inputs, throughSeq } = unpackBatch(packed)
  try {
    await runtime.runPromise(TelemetryReadModel.use((model) => model.apply(inputs, throughSeq)).pipe(Effect.orDie))
    parentPort!.postMessage({ id: packed.id })
  } catch (error) {
    parentPort!.postMessage({ id: packed.id, error: error instanceof Error ? error.message : String(error) })
  }
}

let applying = Promise.resolve()
// `null` asks the thread to close: it comes after every batch already sent, so those are applied first.
parentPort!.on("message", (message: PackedBatch | null) => {
  applying = applying.then(() => (message === null ? runtime.dispose().then(() => parentPort!.close()) : apply(message)))
})
