import { randomUUID } from "node:crypto"
import { Effect, Schedule, Schema } from "effect"
import type { DomainEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { endpointPortOf } from "../../domain/launch/endpointPort.ts"
import { subjects } from "../../domain/subjects.ts"
import { type Tier, tierDefaults } from "../../domain/profile/resources.ts"
import { EventBus } from "../../src/eventBus.ts"
import type { InstanceRuntimeShape } from "../../src/instanceRuntime.ts"
import { endpointUrl } from "../../src/launch/endpoint.ts"
import type { DemoReport } from "./demoReport.ts"
import type { DemoSettings } from "./demoSettings.ts"
import { startLoad } from "./loadGenerator.ts"
import { killInstance } from "./shadowKill.ts"
import { instanceCredsPath, playBack } from "./telemetryPlayback.ts"
import type { DemandTraces } from "./telemetryTrace.ts"
import { DemoStepFailed, eventOf, followTenant, type TenantFeed } from "./tenantFeed.ts"

/** The demo's clients: two standard and one basic, so the forecasts start from different profiles. */
export const demoClients: ReadonlyArray<{ readonly clientId: string; readonly tier: Tier }> = [
  { clientId: "c1", tier: "standard" },
  { clientId: "c2", tier: "basic" },
  { clientId: "c3", tier: "standard" }
]
/** Which client asks for production, and whose shadow is killed. */
const launching = "c1"
const killed = "c3"
const launchId = "demo-launch"

export interface ScenarioContext {
  readonly tenant: string
  readonly runtime: InstanceRuntimeShape
  readonly dataDir: string
  readonly natsUrl: string
  readonly settings: DemoSettings
  readonly report: DemoReport
  readonly traces: DemandTraces
}

const Reply = Schema.Struct({
  ok: Schema.Boolean,
  error: Schema.optionalKey(Schema.Struct({ tag: Schema.String, message: Schema.String }))
})
const decodeReply = Schema.decodeUnknownEffect(Schema.fromJsonString(Reply))

/** Sends one public command as the tenant (its own credentials), and fails the step when it is refused. */
const send = (tenant: string, type: string, data: Readonly<Record<string, unknown>>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const body = new TextEncoder().encode(JSON.stringify({ commandId: randomUUID(), data }))
    const raw = yield* bus.request(subjects.command(tenant, type), body, 10_000)
    const reply = yield* decodeReply(new TextDecoder().decode(raw)).pipe(
      Effect.mapError((error) => new DemoStepFailed({ message: `${type}: the reply does not decode: ${error.message}` }))
    )
    if (!reply.ok) return yield* new DemoStepFailed({ message: `${type} refused: ${reply.error?.tag}: ${reply.error?.message}` })
  })

const millicores = (millis: number) => `${Math.round(millis)} mCPU`

const rolledBack = eventOf("LaunchRolledBack", (e) => e.launchId === launchId)
type RolledBack = Extract<DomainEvent, { readonly _tag: "LaunchRolledBack" }>

/** Waits for `what` of the launch, failing at once with its reason when the launch rolls back instead. */
const launchStage = <T extends DomainEvent>(
  feed: TenantFeed,
  what: string,
  matches: (event: DomainEvent, stored: StoredEvent) => event is T,
  timeoutMs: number,
  after: number
) =>
  feed.waitFor(what, (event, stored): event is T | RolledBack => matches(event, stored) || rolledBack(event, stored), timeoutMs, after).pipe(
    Effect.flatMap(({ event, index }) =>
      event._tag === "LaunchRolledBack"
        ? Effect.fail(new DemoStepFailed({ message: `the launch rolled back at ${event.stage}: ${event.reason}` }))
        : Effect.succeed({ event: event as T, index })
    )
  )

/** Three clients connect, their shadows start, telemetry flows, forecasts follow, c1 launches under load, c3's shadow is killed and comes back. */
export const runScenario = (context: ScenarioContext) =>
  Effect.gen(function* () {
    const { tenant, runtime, report, settings } = context
    const feed = yield* followTenant(tenant)

    yield* report.step("clients", "Three clients connect (ConnectClient, with the tenant's own credentials)", Effect.gen(function* () {
      for (const { clientId, tier } of demoClients) yield* send(tenant, "ConnectClient", { clientId, tier })
      for (const { clientId } of demoClients) {
        yield* feed.waitFor(`ClientConnected of ${clientId}`, eventOf("ClientConnected", (e) => e.clientId === clientId), 10_000)
      }
      return { summary: `ClientConnected ×3: ${demoClients.map((c) => `${c.clientId} (${c.tier})`).join(", ")}`, value: undefined }
    }))

    const shadows = yield* report.step("shadows", "Their shadows start (ProfileCreated → ShadowRequested → InstanceStarted → InstanceReady)", Effect.gen(function* () {
      const started: Record<string, { readonly instanceId: string; readonly cpuMillis: number; readonly memoryMiB: number }> = {}
      for (const { clientId } of demoClients) {
        const { event } = yield* feed.waitFor(`a shadow for ${clientId}`, eventOf("ShadowRequested", (e) => e.clientId === clientId), settings.timeoutsMs.shadowsReady)
        started[clientId] = { instanceId: event.instanceId, cpuMillis: event.resources.cpuMillis, memoryMiB: event.resources.memoryMiB }
      }
      for (const { clientId } of demoClients) {
        const { instanceId } = started[clientId]!
        yield* feed.waitFor(`InstanceReady of ${instanceId}`, eventOf("InstanceReady", (e) => e.instanceId === instanceId), settings.timeoutsMs.shadowsReady)
      }
      return {
        summary: `InstanceReady ×3 on the ${runtime.kind} runtime: ${Object.entries(started).map(([c, s]) => `${c} → ${s.instanceId} (${millicores(s.cpuMillis)}, ${s.memoryMiB} MiB)`).join(", ")}`,
        details: { runtime: runtime.kind, shadows: started },
        value: started
      }
    }))

    const { traces } = context
    yield* report.note("traces", `telemetry source: ${traces.source === "real" ? "real traces" : "synthetic"} — ${traces.description}`, {
      source: traces.source,
      traces: traces.traces.map((t) => t.name)
    })
    yield* report.step("telemetry", "Telemetry flows: each shadow's trace played back with the instance's own credentials", Effect.gen(function* () {
      const begun = performance.now()
      const sent = yield* Effect.forEach(demoClients, ({ clientId, tier }, i) => {
        const key = { tenant, instanceId: shadows[clientId]!.instanceId }
        return playBack({
          natsUrl: context.natsUrl,
          credsPath: instanceCredsPath(runtime.kind, context.dataDir, key),
          key,
          clientId,
          shares: traces.traces[i]!.shares,
          cores: tierDefaults[tier].cpuMillis / 1000
        })
      }, { concurrency: "unbounded" })
      const seconds = (performance.now() - begun) / 1000
      const hours = (settings.historySteps * 5) / 60
      return {
        summary: `${sent.reduce((a, b) => a + b, 0)} samples on umbra.sig.${tenant}.<shadow>.tm: ${hours} h of 5-minute steps per client, stamped over the past ${hours} h, sent in ${seconds.toFixed(2)} s; the agents' own telemetry flows beside them`,
        details: { samples: sent, hours, seconds, source: traces.source },
        value: undefined
      }
    }))

    yield* report.step("forecasts", "Forecasts appear (the scaling engine reads the 5-minute buckets)", Effect.gen(function* () {
      const lines: Array<string> = []
      const forecasts: Record<string, { readonly predictedCores: number; readonly upperCores: number; readonly fallback: boolean }> = {}
      for (const { clientId } of demoClients) {
        const { event } = yield* feed.waitFor(`ForecastUpdated for ${clientId}`, eventOf("ForecastUpdated", (e) => e.clientId === clientId && e.metric === "cpu"), settings.timeoutsMs.forecasts)
        const hour = event.horizons.find((h) => h.minutes === 60) ?? event.horizons[event.horizons.length - 1]!
        forecasts[clientId] = { predictedCores: hour.predicted, upperCores: hour.upper, fallback: event.fallback }
        // The model's name up to its explanation (the event carries the whole of it), or the fallback's reason.
        const basis = event.fallback ? event.reason : event.model.split(" (")[0]
        lines.push(`${clientId}: ${millicores(hour.predicted * 1000)} in 60 min, bound ${millicores(hour.upper * 1000)} (${basis})`)
      }
      return { summary: `ForecastUpdated ×3 — ${lines.join("; ")}`, details: { forecasts }, value: undefined }
    }))

    yield* report.step("refinement", "Profiles are refined from the forecasts (ProfileRefined, source scaling)", feed.waitFor("ProfileRefined", eventOf("ProfileRefined"), settings.timeoutsMs.refinement).pipe(
      Effect.map(({ event }) => ({
        summary: `ProfileRefined of ${event.clientId}: ${millicores(event.expected.cpuMillis)}, ${event.expected.memoryMiB} MiB — ${event.reason}`,
        details: { refined: true },
        value: undefined
      })),
      Effect.catchTag("DemoStepFailed", () =>
        Effect.succeed({ summary: "no ProfileRefined yet: every forecast's bound stayed within ±15 % of its profile", details: { refined: false }, value: undefined })
      )
    ))

    const launchStart = feed.count()
    const load = yield* report.step("launch", `${launching} requests production (RequestProduction), load from a generator on its endpoint`, Effect.gen(function* () {
      yield* send(tenant, "RequestProduction", { clientId: launching, priority: 1, launchId })
      yield* launchStage(feed, "LaunchRequested", eventOf("LaunchRequested", (e) => e.launchId === launchId), 10_000, launchStart)
      // The plan names the port the client's endpoint took.
      const { event: planned } = yield* launchStage(feed, "ProvisioningStarted", eventOf("ProvisioningStarted", (e) => e.launchId === launchId), settings.timeoutsMs.launchStage, launchStart)
      const url = endpointUrl(endpointPortOf(tenant, launching, planned.endpointPort))
      yield* Effect.promise(() => fetch(url).then((r) => r.ok, () => false)).pipe(
        Effect.filterOrFail((ok) => ok, () => "not yet"),
        Effect.retry({ times: 300, schedule: Schedule.spaced("100 millis") }),
        Effect.mapError(() => new DemoStepFailed({ message: `the endpoint ${url} did not answer` }))
      )
      const generator = yield* Effect.acquireRelease(Effect.sync(() => startLoad(url, settings.load)), (g) => Effect.promise(() => g.stop()))
      return { summary: `LaunchRequested ${launchId}; the endpoint ${url} answers and ${settings.load.clients} keep-alive clients load it (at most ${settings.load.maxRequests} requests, ${settings.load.maxMs / 1000} s)`, value: generator }
    }))

    yield* report.step("provisioned", "Production is provisioned at the profile's full size", launchStage(feed, "ProductionProvisioned", eventOf("ProductionProvisioned", (e) => e.launchId === launchId), settings.timeoutsMs.launchStage, launchStart).pipe(
      Effect.map(({ event }) => ({ summary: `ProductionProvisioned ${event.productionInstanceId} (${millicores(event.cpuMillis)}, ${event.memoryMiB} MiB)`, value: undefined }))
    ))

    yield* report.step("transfer", "The shadow's state moves to production (checked, checksummed)", launchStage(feed, "StateTransferCompleted", eventOf("StateTransferCompleted", (e) => e.launchId === launchId), settings.timeoutsMs.launchStage, launchStart).pipe(
      Effect.map(({ event }) => ({
        summary: `StateTransferCompleted: ${event.files} files, ${event.bytes} bytes in ${event.ms} ms, sha256 ${event.checksum.slice(0, 12)}…; left out as the shadow's identity: ${event.reset.join(", ") || "nothing"} (caches in shared paths stay with the image)`,
        details: { bytes: event.bytes, files: event.files, ms: event.ms },
        value: undefined
      }))
    ))

    let after = launchStart
    let weight = 0
    while (weight < 100) {
      const shifted = yield* report.step(`weight`, `Traffic shifts to production (gates: error rate, p99, heartbeats)`, launchStage(feed, "TrafficShifted", eventOf("TrafficShifted", (e) => e.launchId === launchId), settings.timeoutsMs.launchStage, after).pipe(
        Effect.map(({ event, index }) => ({
          summary: `TrafficShifted ${event.previous} → ${event.weight} % (${load.sent()} requests so far, ${load.failures().length} failed)`,
          details: { weight: event.weight, requests: load.sent(), failed: load.failures().length },
          value: { weight: event.weight, index }
        }))
      ))
      weight = shifted.weight
      after = shifted.index + 1
    }

    yield* report.step("completed", "The launch completes and the shadow is released", Effect.gen(function* () {
      const { event } = yield* launchStage(feed, "LaunchCompleted", eventOf("LaunchCompleted", (e) => e.launchId === launchId), settings.timeoutsMs.launchStage, launchStart)
      yield* launchStage(feed, "ShadowReleased", eventOf("ShadowReleased", (e) => e.launchId === launchId), settings.timeoutsMs.launchStage, launchStart)
      const result = yield* Effect.promise(() => load.stop())
      return {
        summary: `LaunchCompleted, ShadowReleased (the shadow ${event.shadowDisposition}); load: ${result.requests} requests, ${result.failures.length} failed`,
        details: { requests: result.requests, failed: result.failures.length },
        value: undefined
      }
    }))

    const victim = shadows[killed]!.instanceId
    yield* report.step("recreated", `${killed}'s shadow is killed (SIGKILL, behind Umbra's back) and comes back`, Effect.gen(function* () {
      const killStart = feed.count()
      const runtimeId = yield* killInstance(runtime, { tenant, instanceId: victim })
      const lost = yield* feed.waitFor(`HeartbeatLost of ${victim}`, eventOf("HeartbeatLost", (e) => e.instanceId === victim), settings.timeoutsMs.recreated, killStart)
      const recreated = yield* feed.waitFor(`InstanceRecreated of ${victim}`, eventOf("InstanceRecreated", (e) => e.instanceId === victim), settings.timeoutsMs.recreated, lost.index)
      yield* feed.waitFor(`InstanceReady of ${victim} again`, eventOf("InstanceReady", (e) => e.instanceId === victim), settings.timeoutsMs.recreated, recreated.index)
      return {
        summary: `killed ${victim} (${runtimeId}); HeartbeatLost (${lost.event.reason}) → InstanceRecreated → InstanceReady`,
        details: { instanceId: victim, killedRuntimeId: runtimeId },
        value: undefined
      }
    }))
  })
