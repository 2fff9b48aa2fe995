import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer } from "effect"
import * as NatsConnectionLayer from "../../infra/nats/connection.ts"
import type { NatsConnection } from "../../infra/nats/connection.ts"
import {
  type NatsServerError,
  restartNatsServer,
  type RunningNatsServer,
  startNatsServer,
  stopNatsServer,
  toNatsServerError
} from "../../infra/nats/natsServerProcess.ts"
import type { BusUnavailable } from "../../src/eventBus.ts"

/** A nats-server of its own for one test file, on a free port with a temporary store directory. */
export interface TestNatsServer {
  readonly url: string
  readonly port: number
  readonly storeDir: string
  /** The PID of the process running now (it changes on restart). */
  readonly pid: () => number
  /** Stops the server (SIGTERM, then SIGKILL) and starts it again on the same port and store directory. */
  readonly restart: () => Promise<void>
  /** Stops the server and removes its store directory. */
  readonly stop: () => Promise<void>
}

/** Plain async form, for benchmarks and scripts. */
export const startTestNatsServer = async (): Promise<TestNatsServer> => {
  const storeDir = await mkdtemp(join(tmpdir(), "umbra-nats-"))
  let running: RunningNatsServer = await startNatsServer({ storeDir }).catch(async (cause: unknown) => {
    await rm(storeDir, { recursive: true, force: true })
    throw cause
  })
  return {
    url: running.url,
    port: running.port,
    storeDir,
    pid: () => running.pid,
    restart: async () => {
      running = await restartNatsServer(running)
    },
    stop: async () => {
      await stopNatsServer(running)
      await rm(storeDir, { recursive: true, force: true })
    }
  }
}

export class NatsTestServer extends Context.Service<NatsTestServer, {
  readonly url: string
  readonly pid: Effect.Effect<number>
  readonly restart: Effect.Effect<void, NatsServerError>
}>()("umbra/test/NatsTestServer") {
  /** The server for the lifetime of the layer (an `@effect/vitest` `layer(...)` block). */
  static readonly layer: Layer.Layer<NatsTestServer, NatsServerError> = Layer.effect(
    NatsTestServer,
    Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: startTestNatsServer, catch: toNatsServerError }),
        (server) => Effect.promise(() => server.stop())
      )
      return NatsTestServer.of({
        url: server.url,
        pid: Effect.sync(server.pid),
        restart: Effect.tryPromise({ try: server.restart, catch: toNatsServerError })
      })
    })
  )
}

/** The test server plus a connection to it. */
export const natsTestLayer: Layer.Layer<NatsTestServer | NatsConnection, NatsServerError | BusUnavailable> = Layer.unwrap(
  Effect.gen(function* () {
    const server = yield* NatsTestServer
    return NatsConnectionLayer.layer({ url: server.url, name: "umbra-test" })
  })
).pipe(Layer.provideMerge(NatsTestServer.layer))
