import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer as processRuntimeLayer } from "../../infra/process/processRuntime.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { NatsTestServer, natsTestLayer } from "../harness/natsServer.ts"

/**
 * A process runtime of the test file's own: a tenant, a data directory, and a layer on a nats-server of its
 * own; every process in the data directory is removed (its group killed), then the directory, when the file ends.
 */
export const processRuntimeFixture = (prefix: string, stopGraceMs: number) => {
  const tenant = `${prefix}${randomUUID().slice(0, 8)}`
  const dataDir = mkdtempSync(join(tmpdir(), "umbra-process-"))
  const runtimeLayer = (natsUrl: string) => processRuntimeLayer({ dataDir, natsUrl, stopGraceMs })
  const cleanup = Layer.effectDiscard(Effect.addFinalizer(() =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const runtime = yield* InstanceRuntime.pipe(Effect.provide(runtimeLayer(server.url)))
      // The data directory is the file's own: every instance in it, of any tenant, is the file's.
      for (const info of yield* runtime.list()) yield* runtime.remove(info)
    }).pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => rmSync(dataDir, { recursive: true, force: true }))))
  ))
  const testLayer = Layer.unwrap(Effect.map(NatsTestServer, (server) => runtimeLayer(server.url))).pipe(
    Layer.provideMerge(cleanup),
    Layer.provideMerge(natsTestLayer)
  )
  return { tenant, dataDir, runtimeLayer, testLayer }
}
