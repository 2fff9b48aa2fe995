import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { Context, Effect, Layer } from "effect"
import * as NatsConnectionLayer from "../../infra/nats/connection.ts"
import type { NatsConnection } from "../../infra/nats/connection.ts"
import {
  defaultConfigFile,
  type NatsServerError,
  restartNatsServer,
  type RunningNatsServer,
  startNatsServer,
  stopNatsServer,
  toNatsServerError
} from "../../infra/nats/natsServerProcess.ts"
import type { BusUnavailable } from "../../src/eventBus.ts"

/** Limits that differ from the repository's `nats.conf`. */
export interface TestNatsLimits {
  /** JetStream's file store limit in bytes: a small one makes a store that fills up. */
  readonly maxFileStore?: number
}

/** A nats-server of its own for one test file, on a free port with a temporary store directory. */
export interface TestNatsServer {
  readonly url: string
  readonly port: number
  readonly storeDir: string
  /** The PID of the process running now (it changes on restart). */
  readonly pid: () => number
  /**
   * Stops the server (SIGTERM, then SIGKILL) and starts it again on the same port and store directory,
   * with `limits` when given (`{}` returns to nats.conf's), else with those it ran with.
   */
  readonly restart: (limits?: TestNatsLimits) => Promise<void>
  /** Stops the server and removes its store directory. */
  readonly stop: () => Promise<void>
}

/** nats.conf with `limits` over it, written beside the store directory (nats.conf itself when there are none). */
const configWith = async (storeDir: string, limits: TestNatsLimits): Promise<string> => {
  if (limits.maxFileStore === undefined) return defaultConfigFile
  // A later `jetstream` block replaces the included one, and `include` takes a path relative to its file.
  const base = `${storeDir}.base.conf`
  const file = `${storeDir}.conf`
  await copyFile(defaultConfigFile, base)
  await writeFile(file, `include "${basename(base)}"\njetstream { max_file_store: ${limits.maxFileStore} }\n`)
  return file
}

const removeAll = (storeDir: string) =>
  Promise.all([storeDir, `${storeDir}.base.conf`, `${storeDir}.conf`].map((path) => rm(path, { recursive: true, force: true })))

/** Plain async form, for benchmarks and scripts. */
export const startTestNatsServer = async (limits: TestNatsLimits = {}): Promise<TestNatsServer> => {
  const storeDir = await mkdtemp(join(tmpdir(), "umbra-nats-"))
  let running: RunningNatsServer = await configWith(storeDir, limits)
    .then((configFile) => startNatsServer({ storeDir, configFile }))
    .catch(async (cause: unknown) => {
      await removeAll(storeDir)
      throw cause
    })
  return {
    url: running.url,
    port: running.port,
    storeDir,
    pid: () => running.pid,
    restart: async (newLimits) => {
      if (newLimits === undefined) {
        running = await restartNatsServer(running)
        return
      }
      await stopNatsServer(running)
      running = await startNatsServer({ ...running.options, configFile: await configWith(storeDir, newLimits) })
    },
    stop: async () => {
      await stopNatsServer(running)
      await removeAll(storeDir)
    }
  }
}

export class NatsTestServer extends Context.Service<NatsTestServer, {
  readonly url: string
  readonly pid: Effect.Effect<number>
  readonly restart: Effect.Effect<void, NatsServerError>
  /** Restarts it with other limits (`{}`: nats.conf's). */
  readonly restartWith: (limits: TestNatsLimits) => Effect.Effect<void, NatsServerError>
}>()("umbra/test/NatsTestServer") {
  /** The server for the lifetime of the layer (an `@effect/vitest` `layer(...)` block). */
  static readonly layer: Layer.Layer<NatsTestServer, NatsServerError> = Layer.effect(
    NatsTestServer,
    Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => startTestNatsServer(), catch: toNatsServerError }),
        (server) => Effect.promise(() => server.stop())
      )
      return NatsTestServer.of({
        url: server.url,
        pid: Effect.sync(server.pid),
        restart: Effect.tryPromise({ try: () => server.restart(), catch: toNatsServerError }),
        restartWith: (limits) => Effect.tryPromise({ try: () => server.restart(limits), catch: toNatsServerError })
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
