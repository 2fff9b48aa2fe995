import Docker from "dockerode"
import { Context, Effect, Layer } from "effect"
import { shadowInstanceId } from "../../domain/instance/shadowInstanceId.ts"
import { defaultUsageSizingPolicy } from "../../domain/instance/usageSizing.ts"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { defaultTemplate, type Template } from "../../domain/profile/template.ts"
import type { UmbraConfig } from "../../infra/config.ts"
import * as dockerRuntime from "../../infra/docker/dockerRuntime.ts"
import * as processRuntime from "../../infra/process/processRuntime.ts"
import { buildImages } from "../../infra/images/imageBuild.ts"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { controlPlaneLayer, launchServicesLayer, orchestrate, startControlPlane } from "../../infra/serve/controlPlane.ts"
import { orchestratorOptions } from "../../infra/serve/orchestratorConfig.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { natsTestLayer, NatsTestServer } from "../harness/natsServer.ts"
import { testConfig } from "./controlPlane.ts"

export const docker = new Docker()

/** A tenant of the test file's own: its label finds (and cleans up) every container the file made. */
export const testTenant = (prefix: string) => `${prefix}${randomUUID().slice(0, 8)}`

export const containersOf = (tenant: string, more: ReadonlyArray<string> = []) =>
  Effect.promise(() => docker.listContainers({ all: true, filters: { label: [`umbra.tenant=${tenant}`, ...more] } }))

/** Removes every container and volume of the tenant, whatever a failed test left. */
export const cleanupTenant = (tenant: string) =>
  Effect.promise(async () => {
    const filters = { label: [`umbra.tenant=${tenant}`] }
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined)
  })

/** The images built (offline) for the lifetime of the layer, and the tenant's containers removed at its end. */
export const imagesLayer = (tenant: string) =>
  Layer.effectDiscard(buildImages().pipe(Effect.orDie, Effect.andThen(Effect.addFinalizer(() => cleanupTenant(tenant)))))

/** The sample workload on the PORT each instance is given: every client of it shares one template, and so one pool. */
export const sharedTemplate: Template = {
  image: sampleWorkloadImage,
  dependencies: [],
  statePaths: ["/var/lib/umbra/state"],
  settings: {},
  identityFiles: ["identity.json"],
  telemetryMs: 1000
}

/**
 * The sample workload on a port chosen by the caller (a bare container has no orchestrator to give it one),
 * its cache in the sample's shared path, as its default template has it.
 */
export const sampleTemplate = (port: number): Template => ({
  ...sharedTemplate,
  sharedStatePaths: defaultTemplate.sharedStatePaths ?? [],
  settings: { ...sharedTemplate.settings, PORT: String(port) },
  readyPath: "/healthz"
})

/** Heartbeats every second (the agent's default); a shadow at a quarter of its profile, at least 100 mCPU and 256 MiB (two Node processes). */
export const shadowTestSettings = {
  enabled: true,
  shadowFraction: 0.25,
  shadowMinCpuMillis: 100,
  shadowMinMemoryMiB: 256,
  poolSize: 1,
  heartbeatMs: 1_000,
  phiThreshold: 8,
  startupGraceMs: 60_000,
  recreateLimit: 3,
  usageSizing: true,
  usageWindowMs: defaultUsageSizingPolicy.windowMs,
  usageCoolDownMs: defaultUsageSizingPolicy.coolDownMs,
  usageGrowAbove: defaultUsageSizingPolicy.growAbove,
  usageShrinkBelow: defaultUsageSizingPolicy.shrinkBelow,
  launchSteps: [5, 25, 50, 100],
  launchHoldMs: 1_500,
  launchMaxErrorRate: 0.01,
  launchMaxP99Ms: 2_000,
  launchMinRequests: 10,
  launchMaxHeartbeatP99Ms: 1_000,
  launchReadyTimeoutMs: 60_000,
  launchConcurrency: 2,
  transferMaxBytes: 256 * 1024 * 1024,
  preload: true
}

/** Where the shadows' agents reach NATS: the test's own server, unless a test puts something in front of it. */
export class AgentNats extends Context.Service<AgentNats, { readonly url: string }>()("umbra/test/AgentNats") {
  static readonly direct = Layer.effect(AgentNats, Effect.map(NatsTestServer, (server) => ({ url: server.url })))
}

/**
 * A control plane with its orchestrator on the Docker (or process) runtime, on the test's nats-server (its
 * agents on AgentNats's) and a data directory of its own, its configuration the tests' with `overrides`;
 * every instance of the tenant (or tenants) is removed once the orchestrator has stopped.
 */
export const orchestratedControlPlaneOn = (
  tenant: string | ReadonlyArray<string>,
  runtime: "docker" | "process" = "docker",
  settings: typeof shadowTestSettings = shadowTestSettings,
  overrides: Partial<UmbraConfig> = {}
) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const agents = yield* AgentNats
      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-shadows-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const config = { ...testConfig(dataDir, server.url), ...overrides }
      const running = Layer.effectDiscard(
        Effect.gen(function* () {
          const instances = yield* InstanceRuntime
          // Added first, so it runs last: after the orchestrator's fibers can no longer start anything.
          yield* Effect.addFinalizer(() =>
            Effect.forEach(typeof tenant === "string" ? [tenant] : tenant, (each) =>
              instances.list({ tenant: each }).pipe(Effect.flatMap(Effect.forEach((info) => instances.remove(info))), Effect.ignore)
            )
          )
          yield* startControlPlane(config)
          yield* orchestrate(orchestratorOptions(settings, agents.url))
        })
      )
      const runtimeLayer =
        runtime === "docker"
          ? dockerRuntime.layer({ natsUrl: agents.url, stopTimeoutSeconds: 2 })
          : processRuntime.layer({ dataDir, natsUrl: agents.url, stopGraceMs: 2_000 })
      return running.pipe(
        Layer.provideMerge(launchServicesLayer(dataDir)),
        Layer.provideMerge(runtimeLayer),
        Layer.provideMerge(controlPlaneLayer(config, server.url))
      )
    })
  )

/** The same on a nats-server of the file's own that the agents reach directly, with the images built (offline). */
export const orchestratedControlPlaneLayer = (
  tenant: string,
  runtime: "docker" | "process" = "docker",
  settings: typeof shadowTestSettings = shadowTestSettings,
  overrides: Partial<UmbraConfig> = {}
) =>
  orchestratedControlPlaneOn(tenant, runtime, settings, overrides).pipe(
    Layer.provideMerge(AgentNats.direct),
    Layer.provideMerge(natsTestLayer),
    Layer.provideMerge(imagesLayer(tenant))
  )

/** The event types of a stream, in order. */
export const streamTypes = (stream: string) =>
  Effect.gen(function* () {
    return (yield* (yield* EventStore).readStream(stream)).map((event) => event.type)
  })

/** How many times `type` occurs in a list of event types. */
export const countOf = (types: ReadonlyArray<string>, type: string) => types.filter((t) => t === type).length

/** The shadow of the client's latest profile: its id is derived from the ProfileCreated event. */
export const shadowOf = (tenant: string, clientId: string) =>
  Effect.gen(function* () {
    const profile = yield* (yield* EventStore).readStream(`profile-${tenant}.${clientId}`)
    const created = profile.filter((event) => event.type === "ProfileCreated").at(-1)
    return created === undefined ? undefined : shadowInstanceId(tenant, clientId, created.id)
  })
