/**
 * What the benchmarks on a real control plane share: one run of Umbra with its orchestrator on Docker, polls
 * of the store, the tenant's containers cleaned up, latencies turned into higher-is-better rows.
 */
import Docker from "dockerode"
import { ConfigProvider, Effect } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { StoredEvent } from "../domain/envelope.ts"
import { buildImages } from "../infra/images/imageBuild.ts"
import * as logging from "../infra/logging/logger.ts"
import { controlPlaneLayer, startControlPlane, startOrchestration } from "../infra/serve/controlPlane.ts"
import type { CommandHandler } from "../src/commands/commandHandler.ts"
import type { EventBus } from "../src/eventBus.ts"
import { EventStore } from "../src/eventStore/eventStore.ts"
import { startTestNatsServer } from "../test/harness/natsServer.ts"
import { send, testConfig } from "../test/support/controlPlane.ts"
import type { BenchResult } from "./benchmark.ts"

export const docker = new Docker()
/** Errors only, as JSON on stderr: stdout is the runner's. */
export const quietLogs = logging.layer({ level: "error", format: "json" })

export const tenantOf = (prefix: string) => `${prefix}${randomUUID().slice(0, 8)}`

/** Every container and volume labelled with the tenant, whatever a run left behind. */
export const removeTenant = async (tenant: string) => {
  const filters = { label: [`umbra.tenant=${tenant}`] }
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker.getVolume(v.Name).remove().catch(() => undefined)
  }
}

export const quantile = (values: ReadonlyArray<number>, q: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : "n/a")
export const significant = (n: number) => (Number.isFinite(n) ? Number(n.toPrecision(4)) : 0)

/** A latency row as its inverse (per second), so that higher is better: ratio = baseline ms / measured ms. */
export const inverseLatency = (name: string, measuredMs: number, baselineMs: number, notes: string): BenchResult => ({
  name,
  unit: "1/s",
  value: significant(1000 / measuredMs),
  baseline: significant(1000 / baselineMs),
  ratio: Number.isFinite(measuredMs) && Number.isFinite(baselineMs) ? Math.round((baselineMs / measuredMs) * 1000) / 1000 : 0,
  notes
})

export class Timeout extends Error {}

/** Polls `probe` every 20 ms until it answers, for at most `timeoutMs`. */
export const until = <A, R>(probe: Effect.Effect<A | undefined, never, R>, timeoutMs: number, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (let i = 0; i < 1_000_000; i++) {
      const found = yield* probe
      if (found !== undefined) return found
      if (Date.now() > deadline) break
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.fail(new Timeout(`no ${what} within ${timeoutMs} ms`))
  })

export const streamOf = (stream: string) => EventStore.use((store) => store.readStream(stream)).pipe(Effect.orDie)

/** The `n`-th (0-based) event of `type` in the stream after index `from`, once stored. */
export const eventOf = (stream: string, type: string, accept: (event: StoredEvent, index: number) => boolean = () => true) =>
  streamOf(stream).pipe(Effect.map((events) => events.find((event, index) => event.type === type && accept(event, index))))

export const countOf = (stream: string, type: string) =>
  streamOf(stream).pipe(Effect.map((events) => events.filter((event) => event.type === type).length))

export const atMs = (event: StoredEvent) => Date.parse(event.at)

export const sendOk = (tenant: string, type: string, data: unknown) =>
  send(tenant, type, data, randomUUID(), 10_000).pipe(
    Effect.orDie,
    Effect.flatMap((reply) => (reply.ok ? Effect.void : Effect.die(new Error(`${type} refused: ${JSON.stringify(reply.error)}`))))
  )

/** Runs `body` on a control plane with its orchestrator (Docker runtime), configured like `umbra serve` from `env`. */
export const onControlPlane = <A, E>(
  natsUrl: string,
  env: Record<string, string>,
  body: Effect.Effect<A, E, EventBus | EventStore | CommandHandler>
): Promise<A> => {
  const dataDir = mkdtempSync(join(tmpdir(), "umbra-bench-"))
  const config = testConfig(dataDir, natsUrl)
  return Effect.runPromise(
    Effect.gen(function* () {
      yield* startControlPlane(config)
      yield* startOrchestration(config).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env)))
      return yield* body
    }).pipe(
      Effect.scoped,
      Effect.provide(controlPlaneLayer(config, natsUrl)),
      Effect.provide(quietLogs)
    )
  ).finally(() => rmSync(dataDir, { recursive: true, force: true }))
}

export const orchestratorEnv = (heartbeatMs: number) => ({
  UMBRA_ORCHESTRATOR: "on",
  UMBRA_HEARTBEAT_MS: String(heartbeatMs),
  UMBRA_POOL_SIZE: "1",
  UMBRA_SHADOW_FRACTION: "0.25",
  UMBRA_SHADOW_MIN_CPU_MILLIS: "100",
  UMBRA_SHADOW_MIN_MEMORY_MIB: "256",
  UMBRA_STARTUP_GRACE_MS: "60000",
  UMBRA_RECREATE_LIMIT: "50"
})

export const withImagesAndNats = async <A>(tenant: string, run: (natsUrl: string) => Promise<A>): Promise<A> => {
  await Effect.runPromise(buildImages().pipe(Effect.orDie, Effect.provide(quietLogs)))
  const nats = await startTestNatsServer()
  try {
    return await run(nats.url)
  } finally {
    await removeTenant(tenant).catch(() => undefined)
    await nats.stop()
  }
}

