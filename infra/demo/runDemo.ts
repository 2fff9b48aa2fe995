import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { resolve } from "node:path"
import { ConfigProvider, Effect, Layer } from "effect"
import { InstanceCredentials } from "../../src/instanceCredentials.ts"
import type { InstanceRuntimeShape } from "../../src/instanceRuntime.ts"
import { UmbraConfig } from "../config.ts"
import * as natsConnection from "../nats/connection.ts"
import * as natsEventBus from "../nats/natsEventBus.ts"
import { freePort } from "../nats/natsServerProcess.ts"
import { authPaths } from "../natsAuth/authDirectory.ts"
import { credsFileCredentials } from "../natsAuth/natsAccess.ts"
import { addTenant } from "../natsAuth/tenantCredentials.ts"
import { controlPlaneLayer, startControlPlane, startOrchestration } from "../serve/controlPlane.ts"
import { embeddedNats } from "../serve/embeddedNats.ts"
import { type DemoReport, makeDemoReport } from "./demoReport.ts"
import { demoClients, runScenario } from "./demoScenario.ts"
import { type DemoSettings, demoSettings } from "./demoSettings.ts"
import { loadDemandTraces } from "./telemetryTrace.ts"
import { DemoStepFailed } from "./tenantFeed.ts"

export interface DemoOptions {
  readonly fast: boolean
  readonly json: boolean
  /** Where the control plane keeps its data; kept afterwards. Unset: a temporary directory, removed. */
  readonly dataDir?: string
  readonly httpPort: number
  /** Keep the control plane (and the dashboard) running after the scenario, until interrupted. */
  readonly stay: boolean
}

/** A temporary data directory for the demo's scope: the user's ./.umbra is never touched. */
const temporaryDataDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(resolve(tmpdir(), "umbra-demo-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Removes every instance of the demo's tenant (shadows, pooled, production) and says so; leftovers are named. */
const removeInstances = (runtime: InstanceRuntimeShape, tenant: string) =>
  Effect.gen(function* () {
    const instances = yield* runtime.list({ tenant })
    yield* Effect.forEach(instances, (info) => runtime.remove(info).pipe(Effect.ignore), { concurrency: "unbounded" })
    const left = yield* runtime.list({ tenant })
    if (left.length > 0) return yield* new DemoStepFailed({ message: `still running: ${left.map((info) => info.instanceId).join(", ")}` })
    return { summary: `removed ${instances.length} instances (${runtime.kind} runtime)`, details: { removed: instances.length }, value: undefined }
  })

/**
 * The guided demo: a control plane on the embedded defaults (its own nats-server, SQLite store, the runtime
 * `umbra serve` would choose) in a data directory of its own, the scenario as a tenant with its own
 * credentials, then everything it started removed — instances first, once the control plane has stopped, so
 * nothing recreates them; on an interrupt too.
 */
export const runDemo = (options: DemoOptions) =>
  Effect.gen(function* () {
    const settings = demoSettings(options.fast)
    const report = makeDemoReport(options.json)
    const dataDir = options.dataDir === undefined ? yield* temporaryDataDir : resolve(options.dataDir)
    // A tenant of its own: a Docker engine's containers are found by tenant label, and may be another Umbra's.
    const tenant = `demo-${randomUUID().slice(0, 6)}`
    // The demo's settings over the environment's: its data directory, its HTTP port, shorter windows.
    const overrides = ConfigProvider.layerAdd(
      ConfigProvider.fromUnknown({ ...settings.config, UMBRA_DATA_DIR: dataDir, UMBRA_HTTP_PORT: String(options.httpPort) }),
      { asPrimary: true }
    )
    return yield* demo(options, settings, report, dataDir, tenant).pipe(Effect.provide(overrides))
  }).pipe(Effect.scoped)

const demo = (options: DemoOptions, settings: DemoSettings, report: DemoReport, dataDir: string, tenant: string) =>
  Effect.gen(function* () {
    const traces = yield* loadDemandTraces(demoClients.length, settings.historySteps)

    const started = yield* report.step("control-plane", `Starting a control plane on the embedded defaults in ${dataDir}`, Effect.gen(function* () {
      const config = yield* UmbraConfig
      const nats = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
      let runtime: InstanceRuntimeShape | undefined
      // Runs after the control plane's services (built below, in this scope) have stopped, before nats-server does.
      yield* Effect.addFinalizer(() =>
        runtime === undefined ? Effect.void : report.step("cleanup", "Cleaning up the instances", removeInstances(runtime, tenant)).pipe(Effect.ignore)
      )
      const { url, agent, instanceCredentials, ...credentials } = nats
      const perInstance = instanceCredentials === undefined ? Layer.empty : Layer.succeed(InstanceCredentials, instanceCredentials)
      const services = yield* Layer.build(Layer.merge(controlPlaneLayer(config, url, credentials), perInstance))
      const { http } = yield* startControlPlane(config).pipe(Effect.provideContext(services))
      runtime = (yield* startOrchestration(config, agent).pipe(Effect.provideContext(services))) ?? undefined
      if (runtime === undefined) return yield* new DemoStepFailed({ message: "no instance runtime could be started (see the log)" })
      return {
        summary: `control plane up: nats-server ${url}, SQLite event store ${dataDir}/events.db, shadows on the ${runtime.kind} runtime`,
        details: { natsUrl: url, dataDir, runtime: runtime.kind },
        value: { natsUrl: url, runtime, http }
      }
    }))

    const dashboard = started.http === undefined ? undefined : `http://127.0.0.1:${started.http.port}/`
    yield* report.note(
      "dashboard",
      dashboard === undefined ? `no dashboard: port ${options.httpPort} could not be listened on (try --http-port)` : `dashboard: ${dashboard} (tenant ${tenant})`,
      { url: dashboard ?? null, tenant }
    )

    const credsPath = authPaths(dataDir).tenantCreds(tenant)
    yield* addTenant(dataDir, tenant, credsPath)
    const tenantBus = natsEventBus.layer().pipe(
      Layer.provideMerge(
        Layer.unwrap(Effect.map(credsFileCredentials(credsPath), (creds) => natsConnection.layer({ url: started.natsUrl, name: "umbra-demo", ...creds })))
      )
    )
    yield* runScenario({ tenant, runtime: started.runtime, dataDir, natsUrl: started.natsUrl, settings, report, traces }).pipe(
      Effect.scoped,
      Effect.provide(tenantBus)
    )
    yield* report.note("done", `scenario complete in ${(report.elapsed() / 1000).toFixed(1)} s`, { tenant, dataDir, kept: options.dataDir !== undefined })
    if (options.stay) {
      yield* report.note("staying", `the control plane keeps running${dashboard === undefined ? "" : ` (dashboard ${dashboard})`}; Ctrl-C ends it and cleans up`)
      return yield* Effect.never
    }
    return 0
  })
