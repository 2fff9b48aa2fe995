import { jetstream } from "@nats-io/jetstream"
import { Effect } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import { parseStreamName } from "../../domain/streams.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import type { ScenarioRun } from "./killScenario.ts"
import { launchStream } from "./launchHarness.ts"
import { alive } from "./processAlive.ts"
import { countOf, docker, shadowOf } from "./shadowHarness.ts"

export interface Tally {
  readonly commandsAcked: number
  readonly storeEvents: number
  readonly jetStreamEvents: number
  readonly duplicates: number
  readonly lost: number
  readonly outOfOrder: number
  readonly orphans: number
}

export const emptyTally: Tally = { commandsAcked: 0, storeEvents: 0, jetStreamEvents: 0, duplicates: 0, lost: 0, outOfOrder: 0, orphans: 0 }

export const addTallies = (a: Tally, b: Tally): Tally => ({
  commandsAcked: a.commandsAcked + b.commandsAcked,
  storeEvents: a.storeEvents + b.storeEvents,
  jetStreamEvents: a.jetStreamEvents + b.jetStreamEvents,
  duplicates: a.duplicates + b.duplicates,
  lost: a.lost + b.lost,
  outOfOrder: a.outOfOrder + b.outOfOrder,
  orphans: a.orphans + b.orphans
})

export const summaryLine = (t: Tally) =>
  `scenario: commands acked ${t.commandsAcked}, events in store ${t.storeEvents}, on JetStream ${t.jetStreamEvents}, ` +
  `duplicates ${t.duplicates}, lost ${t.lost}, out of order ${t.outOfOrder}, orphans ${t.orphans}`

/** Heartbeats and telemetry are observations: archived in the store, never relayed. */
export const isDecision = (event: StoredEvent) => {
  const category = parseStreamName(event.stream)?.category
  return category !== "heartbeat" && category !== "telemetry"
}

interface Published {
  readonly seq: number
  readonly subject: string
  readonly id: string
  readonly revision: number
}

/** Every message of UMBRA_EVENTS under the tenant's subjects, in stream order, read with an ordered consumer. */
const publishedOf = (tenant: string) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    return yield* Effect.promise(async () => {
      const consumer = await jetstream(nc).consumers.get(streamNames.events, { filter_subjects: `umbra.evt.${tenant}.>` })
      const seen: Array<Published> = []
      for (let i = 0; i < 100_000; i++) {
        const message = await consumer.next({ expires: 1_000 })
        if (message === null) break
        const body = message.json<{ readonly id: string; readonly revision: number }>()
        seen.push({ seq: message.seq, subject: message.subject, id: body.id, revision: body.revision })
        if (message.info.pending === 0) break
      }
      return seen
    })
  })

const tenantEvents = (tenant: string) =>
  EventStore.use((store) => store.readAll()).pipe(
    Effect.orDie,
    Effect.map((events) => events.filter((event) => event.tenant === tenant))
  )

/** The items that repeat one before them. */
const repeated = (items: ReadonlyArray<string>) => items.filter((item, index) => items.indexOf(item) !== index)

/** The items whose `revision` does not follow the previous one of their group (`contiguous`: by exactly one). */
const disordered = <A extends { readonly id: string; readonly revision: number }>(
  items: ReadonlyArray<A>,
  group: (a: A) => string,
  contiguous: boolean
) => {
  const last = new Map<string, number>()
  const wrong: Array<string> = []
  for (const item of items) {
    const before = last.get(group(item))
    if (before !== undefined && (contiguous ? item.revision !== before + 1 : item.revision <= before)) wrong.push(item.id)
    last.set(group(item), item.revision)
  }
  return wrong
}

/** Events a finished scenario has exactly once in a stream; fewer is lost, more is duplicated. */
const once: ReadonlyArray<readonly [string, string]> = [
  ["client", "ClientConnected"],
  ["client", "ClientDisconnected"],
  ["profile", "ProfileCreated"],
  ["instance", "ShadowRequested"],
  ["instance", "InstanceTerminated"],
  ...["LaunchRequested", "ProvisioningStarted", "ProductionProvisioned", "StateTransferStarted", "StateTransferCompleted", "LaunchCompleted", "ShadowReleased", "ProductionRetired"]
    .map((type) => ["launch", type] as const)
]

/**
 * The run against what it should have left: each acked command's events stored exactly once, streams
 * without gaps, every decision on UMBRA_EVENTS once and in each subject's order, the scenario's events each
 * once, and no instance of the tenant left once its client disconnected (production retired with it).
 * Every count above zero comes with a line saying what it is.
 */
export const auditRun = (run: ScenarioRun, runtime: "docker" | "process") =>
  Effect.gen(function* () {
    const problems: Array<string> = [...run.problems]
    const found = { duplicates: run.problems.length, lost: 0, outOfOrder: 0, orphans: 0 }
    const note = (kind: keyof typeof found, things: ReadonlyArray<string>, what: string) => {
      found[kind] += things.length
      if (things.length > 0) problems.push(`${what}: ${things.join(", ")}`)
    }
    const shadow = yield* shadowOf(run.tenant, run.clientId)
    const streamOf: Record<string, string> = {
      client: `client-${run.tenant}.${run.clientId}`,
      profile: `profile-${run.tenant}.${run.clientId}`,
      instance: `instance-${run.tenant}.${shadow}`,
      launch: launchStream(run.tenant, run.launchId)
    }
    // What a kill left to a redelivery finishes first: an event handed to the killed process comes back
    // after the consumers' ack_wait (`UMBRA_ACK_WAIT_MS`), and what it leads to (a retirement, say) follows.
    const missingOnce = (events: ReadonlyArray<StoredEvent>) =>
      once.filter(([category, type]) => !events.some((event) => event.stream === streamOf[category] && event.type === type))
    for (let i = 0; i < 120 && missingOnce(yield* tenantEvents(run.tenant)).length > 0; i++) yield* Effect.sleep("500 millis")
    const before = (yield* tenantEvents(run.tenant)).filter(isDecision)
    const missingFrom = (published: ReadonlyArray<Published>) => {
      const ids = new Set(published.map((p) => p.id))
      return before.filter((event) => !ids.has(event.id))
    }
    // The relay of the last `umbra serve` catches up; what it never publishes is lost.
    let published = yield* publishedOf(run.tenant)
    for (let i = 0; i < 120 && missingFrom(published).length > 0; i++) {
      yield* Effect.sleep("500 millis")
      published = yield* publishedOf(run.tenant)
    }
    // Read after JetStream: whatever JetStream holds must be in the store already.
    const stored = yield* tenantEvents(run.tenant)
    const decisions = stored.filter(isDecision)
    const timesStored = new Map<string, number>()
    for (const event of stored) timesStored.set(event.id, (timesStored.get(event.id) ?? 0) + 1)
    const revisionOf = new Map(decisions.map((e) => [e.id, e.revision]))

    note("lost", missingFrom(published).map((e) => `${e.type} ${e.id}`), "stored, never on JetStream")
    note("duplicates", repeated(stored.map((e) => e.id)), "stored twice")
    note("duplicates", repeated(published.map((p) => p.id)), "on JetStream twice")
    note("lost", published.filter((p) => !timesStored.has(p.id)).map((p) => p.id), "on JetStream, not in the store")
    note("outOfOrder", published.filter((p) => revisionOf.has(p.id) && revisionOf.get(p.id) !== p.revision).map((p) => p.id), "on JetStream with another revision")
    note("outOfOrder", disordered(stored, (e) => e.stream, true), "a stream's revisions with a gap or out of order")
    note("outOfOrder", disordered(published, (p) => p.subject, false), "a subject's revisions out of order on JetStream")

    for (const [commandId, ids] of run.acked) {
      note("lost", ids.filter((id) => !timesStored.has(id)), `acked by command ${commandId}, not stored`)
      const caused = stored.filter((event) => event.causationId === commandId).map((e) => `${e.type} ${e.id}`)
      note("duplicates", caused.slice(ids.length), `more events caused by command ${commandId} than its reply named`)
    }

    const typesOf = (stream: string) => stored.filter((event) => event.stream === stream).map((event) => event.type)
    for (const [category, type] of once) {
      const times = countOf(typesOf(streamOf[category]!), type)
      note("lost", times === 0 ? [type] : [], `missing from ${streamOf[category]}`)
      note("duplicates", Array.from({ length: Math.max(0, times - 1) }, () => type), `repeated in ${streamOf[category]}`)
    }
    const weights = stored
      .filter((e) => e.stream === streamOf["launch"] && e.type === "TrafficShifted")
      .map((e) => String((e.data as { readonly weight: number }).weight))
    note("duplicates", repeated(weights), "weights shifted to twice")

    // Nothing is left, production included: not in the runtime, not on the machine. A removal may still be
    // under way, or wait for its event's redelivery (ack_wait) when a kill cut it between container and volumes.
    const leftovers = Effect.gen(function* () {
      const instances = (yield* InstanceRuntime.use((r) => r.list({ tenant: run.tenant })).pipe(Effect.orDie))
        .map((info) => `${info.role} ${info.instanceId}`)
      if (runtime === "process") return { instances, machine: [...run.runtimeIds].filter((id) => alive(-Number(id))) }
      const volumes = yield* Effect.promise(() => docker.listVolumes({ filters: { label: [`umbra.tenant=${run.tenant}`] } }))
      return { instances, machine: (volumes.Volumes ?? []).map((v) => v.Name) }
    })
    let left = yield* leftovers
    for (let i = 0; i < 180 && left.instances.length + left.machine.length > 0; i++) {
      yield* Effect.sleep("500 millis")
      left = yield* leftovers
    }
    note("orphans", left.instances, "instances left")
    note("orphans", left.machine, runtime === "process" ? "process groups still alive" : "volumes left")

    // A failed run shows its history: the order of the decisions is what a crash window is found by.
    if (problems.length > 0) {
      console.log(`${run.tenant} stored:\n${decisions.map((e) => `  ${e.stream.replace(`${run.tenant}.`, "")} ${e.type} ${e.type === "SagaStepRecorded" ? (e.data as { readonly input: { readonly type: string } }).input.type : ""}`).join("\n")}`)
    }
    const tally: Tally = { commandsAcked: run.acked.size, storeEvents: decisions.length, jetStreamEvents: published.length, ...found }
    return { tally, problems }
  })
