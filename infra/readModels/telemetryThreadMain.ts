/**
 * The telemetry ingest's applier thread: with its own connection to the read-model database, it decodes
 * each batch it is sent and folds it into the telemetry rows, so that the control plane's event loop only
 * reads the signals from NATS and attributes them. Batches are applied one at a time, in the order they arrive.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import { applyTelemetryBatch } from "../../src/telemetry/telemetryBatch.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"
import * as sqliteProjections from "./sqliteProjections.ts"
import { type PackedBatch, unpackBatch } from "./telemetryThreadMessages.ts"

const { file } = workerData as { readonly file: string }
const runtime = ManagedRuntime.make(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer), Layer.provide(ReadModelDatabase.layer(file))))

const apply = async (packed: PackedBatch) => {
  try {
    const outcome = await runtime.runPromise(applyTelemetryBatch(unpackBatch(packed)).pipe(Effect.orDie))
    parentPort!.postMessage({ id: packed.id, outcome })
  } catch (error) {
    parentPort!.postMessage({ id: packed.id, error: error instanceof Error ? error.message : String(error) })
  }
}

let applying = Promise.resolve()
// `null` asks the thread to close: it comes after every batch already sent, so those are applied first.
parentPort!.on("message", (message: PackedBatch | null) => {
  applying = applying.then(() => (message === null ? runtime.dispose().then(() => parentPort!.close()) : apply(message)))
})
