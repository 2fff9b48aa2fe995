import { jetstream } from "@nats-io/jetstream"
import { Context, Effect, Layer, References } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { UmbraConfig } from "../../infra/config.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { controlPlaneLayer, startControlPlane } from "../../infra/serve/controlPlane.ts"
import { EventBus } from "../../src/eventBus.ts"
import { natsTestLayer, NatsTestServer } from "../harness/natsServer.ts"

export const testConfig = (dataDir: string, natsUrl: string): UmbraConfig => ({
  natsUrl,
  dataDir,
  eventStore: "sqlite",
  kurrentUrl: undefined,
  runtime: undefined,
  logLevel: "warn",
  logFormat: undefined,
  commandMaxBytes: 64 * 1024,
  duplicateWindowSeconds: 600,
  publishWindow: 100,
  ackWaitMs: natsEventBus.defaultAckWaitMs,
  scalingIntervalMs: 250,
  httpHost: "127.0.0.1",
  httpPort: 0
})

/** Warnings and errors only: the control plane's info lines would drown the test report. */
export const quietLogs = Layer.succeed(References.MinimumLogLevel, "Warn")

/** The data directory of the control plane under test. */
export class TestDataDir extends Context.Service<TestDataDir, string>()("umbra/test/TestDataDir") {}

const dataDirLayer = Layer.effect(
  TestDataDir,
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-data-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
)

/** A test's own nats-server, a data directory, and a bus client, for a control plane run as a child process. */
export const controlPlaneClientLayer = natsEventBus.layer().pipe(Layer.provideMerge(Layer.mergeAll(natsTestLayer, dataDirLayer)))

/** Where the control plane under test serves HTTP (on a free port of loopback), if it could. */
export class ControlPlaneHttp extends Context.Service<ControlPlaneHttp, { readonly host: string; readonly port: number } | undefined>()("umbra/test/ControlPlaneHttp") {}

/**
 * A whole control plane (SQLite store in a temp dir) serving on a nats-server of the test file's own, its
 * configuration the tests' with `overrides`.
 */
export const controlPlaneTestLayerWith = (overrides: Partial<UmbraConfig>) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const dataDir = yield* TestDataDir
      const config = { ...testConfig(dataDir, server.url), ...overrides }
      const running = Layer.effect(ControlPlaneHttp, startControlPlane(config).pipe(Effect.map(({ http }) => http)))
      return running.pipe(Layer.provideMerge(controlPlaneLayer(config, server.url)))
    })
  ).pipe(Layer.provideMerge(Layer.mergeAll(natsTestLayer, dataDirLayer)), Layer.provide(quietLogs))

export const controlPlaneTestLayer = controlPlaneTestLayerWith({})

export interface Reply {
  readonly ok: boolean
  readonly duplicate?: boolean
  readonly events?: ReadonlyArray<{ readonly id: string; readonly type: string; readonly stream: string; readonly revision: number }>
  readonly error?: { readonly tag: string; readonly message: string; readonly details: unknown }
}

/** Sends a raw body to `umbra.cmd.<tenant>.<type>` and parses the reply. */
export const requestRaw = (subject: string, body: Uint8Array | string, timeoutMs = 5_000) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const data = typeof body === "string" ? new TextEncoder().encode(body) : body
    const reply = yield* bus.request(subject, data, timeoutMs)
    return JSON.parse(new TextDecoder().decode(reply)) as Reply
  })

export const send = (tenant: string, type: string, data: unknown, commandId: string = randomUUID(), timeoutMs = 5_000) =>
  requestRaw(`umbra.cmd.${tenant}.${type}`, JSON.stringify({ commandId, data }), timeoutMs)

/** Every message of UMBRA_EVENTS under `subject`, read with an ordered consumer: its id header and type. */
export const jetStreamEvents = (subject: string) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    return yield* Effect.promise(async () => {
      const consumer = await jetstream(nc).consumers.get(streamNames.events, { filter_subjects: subject })
      const seen: Array<{ readonly id: string; readonly type: string }> = []
      for (;;) {
        const message = await consumer.next({ expires: 1_000 })
        if (message === null) return seen
        seen.push({ id: message.headers?.get("Nats-Msg-Id") ?? "", type: message.headers?.get("Umbra-Type") ?? "" })
        if (message.info.pending === 0) return seen
      }
    })
  })
