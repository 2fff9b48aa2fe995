/**
 * `launch.time-to-serving`: RequestProduction for a client whose shadow is warm → production answering its
 * first request (`GET /` with 200 on its own port), with the state transfer on the way; next to a cold start
 * of the same workload (the same image, settings and resources, no shadow, its cache built from scratch),
 * created and started through the engine API until it answers the same way. Interleaved in one run; medians.
 * The ratio is what the state transfer saves, so it grows with the workload's warm-up: measured with a cache
 * that takes a real service's warm-up (about 25 s to build here) and with the sample's light default (about 1 s).
 *
 * `launch.time-to-serving.preload`: the same launch (light cache) with production's agent preloading the
 * dependencies the shadow's workload was seen to load, against launches with UMBRA_PRELOAD=off, each on a control
 * plane of its own, runs alternated; as root the page cache is dropped before each RequestProduction (what a
 * running shadow keeps mapped stays cached: on one machine the two share the image's files).
 */
import { writeFile } from "node:fs/promises"
import { Effect } from "effect"
import type { ClientId } from "../domain/ids.ts"
import { instancePort } from "../domain/instance/instancePort.ts"
import { productionInstanceId } from "../domain/launch/productionInstanceId.ts"
import { shadowInstanceId } from "../domain/instance/shadowInstanceId.ts"
import { defaultNetwork, type Template } from "../domain/profile/template.ts"
import { containerSettings, stateVolumeName } from "../infra/docker/containerSettings.ts"
import { sampleWorkloadImage } from "../infra/images/imageNames.ts"
import { instanceSpec } from "../src/instances/runtimeSpec.ts"
import type { Benchmark, BenchResult } from "./benchmark.ts"
import {
  docker,
  eventOf,
  inverseLatency,
  ms,
  onControlPlane,
  orchestratorEnv,
  quantile,
  sendOk,
  tenantOf,
  Timeout,
  until,
  withImagesAndNats
} from "./controlPlaneRuns.ts"

// At most 3 launches and 3 cold starts, unless 240 s of runs come first.
const runs = 3
const runsMillis = 240_000
const heartbeatMs = 1_000
/** A standard client: production at 2000 mCPU and 4 GiB (the whole of a 2-core machine). */
const tier = "standard"
const productionLimits = { cpuMillis: 2000, memoryMiB: 4096 }

/** The sample workload with a cache of `rounds` SHA-256 rounds per file (8000, its default, builds in about a second). */
const templateOf = (rounds: number): Template => ({
  image: sampleWorkloadImage,
  dependencies: [],
  statePaths: ["/var/lib/umbra/state"],
  settings: { SAMPLE_CACHE_FILES: "40", SAMPLE_CACHE_ROUNDS: String(rounds) },
  identityFiles: ["identity.json"]
})

/** Polls `GET url` every 20 ms until it answers 200; the time it did, in ms since the epoch. */
const firstAnswer = (url: string, timeoutMs: number) =>
  until(Effect.promise(() => fetch(url).then((r) => (r.ok ? Date.now() : undefined), () => undefined)), timeoutMs, `an answer from ${url}`)

/** A warm shadow (connected, ready, its cache built), then RequestProduction until production answers. */
const launchRun = (tenant: string, clientId: string, template: Template, beforeRequest: Effect.Effect<unknown> = Effect.void) =>
  Effect.gen(function* () {
    yield* sendOk(tenant, "ConnectClient", { clientId, tier, template })
    const created = yield* until(eventOf(`profile-${tenant}.${clientId}`, "ProfileCreated"), 20_000, `ProfileCreated for ${clientId}`)
    const shadow = shadowInstanceId(tenant, clientId, created.id)
    yield* firstAnswer(`http://127.0.0.1:${instancePort(shadow)}/`, 240_000)
    const launchId = `l-${clientId}`
    // What production preloads is what the shadow reported once ready: the profile has it before the plan reads it.
    yield* until(eventOf(`profile-${tenant}.${clientId}`, "DependenciesInferred"), 20_000, `DependenciesInferred for ${clientId}`)
    yield* beforeRequest
    const started = Date.now()
    yield* sendOk(tenant, "RequestProduction", { clientId, launchId })
    const served = yield* firstAnswer(`http://127.0.0.1:${instancePort(productionInstanceId(tenant, launchId))}/`, 120_000)
    // The rest of the launch (the shift and the shadow's release) is not timed, but must end before the next run.
    yield* until(eventOf(`launch-${tenant}.${launchId}`, "ShadowReleased"), 120_000, `the end of ${launchId}`)
    return served - started
  })

/** The same workload started cold: container created and started through the engine, until it answers. */
const coldRun = async (natsUrl: string, tenant: string, template: Template, n: number): Promise<number> => {
  const instanceId = `cold-${n}`
  const spec = instanceSpec("production", tenant, instanceId, { clientId: "cold" as ClientId, tier, template, network: defaultNetwork, resources: productionLimits }, {
    natsUrl,
    heartbeatMs
  })
  const settings = containerSettings(spec, { natsUrl, pidsLimit: 256, tmpSizeMiB: 64, placement: "host" })
  let containerId: string | undefined
  try {
    const started = Date.now()
    const container = await docker.createContainer({ ...settings, Labels: { "umbra.tenant": tenant, "umbra.bench": "cold" } })
    containerId = container.id
    await container.start()
    const served = await Effect.runPromise(firstAnswer(`http://127.0.0.1:${spec.env["PORT"]}/`, 240_000))
    return served - started
  } finally {
    if (containerId !== undefined) await docker.getContainer(containerId).remove({ force: true }).catch(() => undefined)
    await docker.getVolume(stateVolumeName(tenant, instanceId, 0)).remove().catch(() => undefined)
  }
}

/** Drops the page cache where this process may (root); whether it did. */
const dropPageCache = () => writeFile("/proc/sys/vm/drop_caches", "3").then(() => true, () => false)

/** One launch on a control plane of its own, preloading or not; its time to a serving production. */
const preloadRun = (natsUrl: string, tenant: string, clientId: string, preload: boolean) =>
  onControlPlane(
    natsUrl,
    { ...orchestratorEnv(heartbeatMs), UMBRA_POOL_SIZE: "0", UMBRA_SHADOW_FRACTION: "1", UMBRA_LAUNCH_HOLD_MS: "500", UMBRA_PRELOAD: preload ? "on" : "off" },
    launchRun(tenant, clientId, templateOf(8_000), Effect.promise(dropPageCache))
  )

const preloadEffect = async (): Promise<ReadonlyArray<BenchResult>> => {
  const tenant = tenantOf("bpl")
  return withImagesAndNats(tenant, async (natsUrl) => {
    const withPreload: Array<number> = []
    const without: Array<number> = []
    let stopped = ""
    const startedAll = Date.now()
    try {
      for (let n = 0; n < runs && Date.now() - startedAll < runsMillis; n++) {
        const plain = await preloadRun(natsUrl, tenant, `off${n}`, false)
        withPreload.push(await preloadRun(natsUrl, tenant, `on${n}`, true))
        without.push(plain)
        process.stderr.write(`  run ${n + 1}: preloading ${withPreload.at(-1)} ms, not preloading ${without.at(-1)} ms\n`)
      }
    } catch (error) {
      if (!(error instanceof Timeout)) throw error
      stopped = `; ${error.message}`
    }
    const dropped = await dropPageCache()
    const preloadMs = quantile(withPreload, 0.5)
    const plainMs = quantile(without, 0.5)
    return [
      inverseLatency(
        "launch.time-to-serving.preload",
        preloadMs,
        plainMs,
        `RequestProduction → production answering (light cache), production's agent preloading the shadow's inferred dependencies: p50 ${ms(preloadMs)} ms over ${withPreload.length} launches; the same with UMBRA_PRELOAD=off: p50 ${ms(plainMs)} ms; ratio = without / with; page cache ${dropped ? "dropped before each request" : "not dropped (not root)"}${stopped}`
      )
    ]
  })
}

const timeToServing = (name: string, rounds: number) => async (): Promise<ReadonlyArray<BenchResult>> => {
  const tenant = tenantOf("bln")
  const template = templateOf(rounds)
  return withImagesAndNats(tenant, async (natsUrl) => {
    const launches: Array<number> = []
    const cold: Array<number> = []
    let stopped = ""
    const startedAll = Date.now()
    await onControlPlane(
      natsUrl,
      // Every client gets a fresh shadow (no pool), at the profile's full size: its warm-up is not timed, and
      // would take minutes at a quarter of it.
      { ...orchestratorEnv(heartbeatMs), UMBRA_POOL_SIZE: "0", UMBRA_SHADOW_FRACTION: "1", UMBRA_LAUNCH_HOLD_MS: "500" },
      Effect.gen(function* () {
        for (let n = 0; n < runs; n++) {
          if (Date.now() - startedAll > runsMillis) {
            stopped = `time bound of ${runsMillis / 1000} s hit after ${n} runs`
            break
          }
          launches.push(yield* launchRun(tenant, `c${n}`, template))
          cold.push(yield* Effect.promise(() => coldRun(natsUrl, tenant, template, n)))
          process.stderr.write(`  run ${n + 1}: launch ${launches.at(-1)} ms, cold start ${cold.at(-1)} ms\n`)
        }
      }).pipe(Effect.catchIf((error): error is Timeout => error instanceof Timeout, (error) => Effect.sync(() => void (stopped = error.message))))
    )
    const launchMs = quantile(launches, 0.5)
    const coldMs = quantile(cold, 0.5)
    return [
      inverseLatency(
        name,
        launchMs,
        coldMs,
        `RequestProduction → production answering, with state transfer: p50 ${ms(launchMs)} ms over ${launches.length} launches; cold start of the same workload (no shadow, cache of 40 files × ${rounds} SHA-256 rounds built from scratch): p50 ${ms(coldMs)} ms; ratio = cold / launch (aim ≥ 5)${stopped === "" ? "" : `; ${stopped}`}`
      )
    ]
  })
}

export const benchmarks: ReadonlyArray<Benchmark> = [
  { name: "launch.time-to-serving", run: timeToServing("launch.time-to-serving", 200_000) },
  { name: "launch.time-to-serving.light-cache", run: timeToServing("launch.time-to-serving.light-cache", 8_000) },
  { name: "launch.time-to-serving.preload", run: preloadEffect }
]
