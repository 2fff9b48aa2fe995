import { assert } from "@effect/vitest"
import { Effect, Fiber, Ref, Schedule, type Scope } from "effect"
import type { ChildProcess } from "node:child_process"
import { randomUUID } from "node:crypto"
import type { Position } from "../../domain/envelope.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { send } from "./controlPlane.ts"
import { eventually } from "./eventually.ts"
import { describeKillPoint, type KillPoint, type KillTrigger } from "./killSchedule.ts"
import { launchStream } from "./launchHarness.ts"
import { isDecision } from "./scenarioAudit.ts"
import { stopProcess } from "./serveProcess.ts"
import { shadowOf, sharedTemplate, streamTypes } from "./shadowHarness.ts"

/** The scenario's moments a kill can follow, in the order they happen. */
export const scenarioTriggers: ReadonlyArray<KillTrigger> = [
  { after: "command", name: "ConnectClient" },
  ...["ClientConnected", "ProfileCreated", "ShadowRequested", "InstanceStarted", "InstanceReady"].map((name) => ({ after: "event" as const, name })),
  { after: "command", name: "RefineProfile" },
  ...["ProfileRefined", "InstanceResized"].map((name) => ({ after: "event" as const, name })),
  { after: "command", name: "RequestProduction" },
  ...[
    "LaunchRequested", "ProvisioningStarted", "ProductionProvisioned", "StateTransferStarted", "StateTransferCompleted",
    "TrafficShifted", "LaunchCompleted", "ShadowReleased"
  ].map((name) => ({ after: "event" as const, name })),
  { after: "command", name: "DisconnectClient" },
  { after: "event", name: "ClientDisconnected" }
]

export interface ScenarioCommand {
  readonly type: string
  readonly commandId: string
  readonly data: Readonly<Record<string, unknown>>
}

export interface ScenarioRun {
  readonly tenant: string
  readonly clientId: string
  readonly launchId: string
  /** The ids of each command's events, as its first successful reply named them. */
  readonly acked: ReadonlyMap<string, ReadonlyArray<string>>
  /** Every runtime id (container or process group) seen for the tenant while the scenario ran. */
  readonly runtimeIds: ReadonlySet<string>
  /** Each kill, as it happened. */
  readonly kills: ReadonlyArray<string>
  /** Replies that broke idempotence (a repeated command id answered with other events). */
  readonly problems: ReadonlyArray<string>
}

const has = (types: Effect.Effect<ReadonlyArray<string>, unknown, EventStore>, type: string) =>
  types.pipe(Effect.map((all) => all.includes(type)), Effect.orDie)

/**
 * Connect a client, refine its profile, launch production, disconnect, against `umbra serve` (started by
 * `start`), while a fiber of its own SIGKILLs and restarts it at each of `kills`. Every command keeps its id
 * across restarts; the one in flight at a restart is sent again until its effect is in the store. The last
 * `umbra serve` keeps running (its relay still publishing) until the caller's scope closes.
 */
export const runKillScenario = (tenant: string, kills: ReadonlyArray<KillPoint>, start: Effect.Effect<ChildProcess, never, Scope.Scope>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const instances = yield* InstanceRuntime
    const clientId = `c${randomUUID().slice(0, 6)}`
    const launchId = randomUUID()
    const commands: ReadonlyArray<ScenarioCommand> = [
      { type: "ConnectClient", commandId: randomUUID(), data: { clientId, tier: "basic", template: sharedTemplate } },
      { type: "RefineProfile", commandId: randomUUID(), data: { clientId, expected: { cpuMillis: 2000, memoryMiB: 2048 }, reason: "sigkill scenario" } },
      { type: "RequestProduction", commandId: launchId, data: { clientId, launchId, priority: 0 } },
      { type: "DisconnectClient", commandId: randomUUID(), data: { clientId } }
    ]
    const refine = commands[1]!
    const shadowStream = shadowOf(tenant, clientId).pipe(Effect.map((shadow) => (shadow === undefined ? undefined : `instance-${tenant}.${shadow}`)))
    const shadowReady = shadowStream.pipe(Effect.flatMap((stream) => (stream === undefined ? Effect.succeed(false) : has(streamTypes(stream), "InstanceReady"))))
    // After the profile change the refinement caused: a forecast may have resized the shadow before it.
    const shadowResized = Effect.gen(function* () {
      const stream = yield* shadowStream
      const events = yield* store.readAll().pipe(Effect.orDie)
      const refined = events.findIndex((event) => event.causationId === refine.commandId && event.type === "ProfileRefined")
      return refined >= 0 && events.slice(refined).some((event) => event.stream === stream && event.type === "InstanceResized")
    })
    const launchTypes = streamTypes(launchStream(tenant, launchId))
    // What each command's step has reached once the control plane has carried it through.
    const done: ReadonlyArray<Effect.Effect<boolean, unknown, EventStore>> = [
      shadowReady,
      shadowResized,
      launchTypes.pipe(Effect.map((types) => types.includes("ShadowReleased") || types.includes("LaunchRolledBack"))),
      Effect.all([
        has(streamTypes(`client-${tenant}.${clientId}`), "ClientDisconnected"),
        instances.list({ tenant }).pipe(Effect.map((all) => all.every((info) => info.role === "production")))
      ]).pipe(Effect.map(([disconnected, noShadow]) => disconnected && noShadow))
    ]

    const acked = new Map<string, ReadonlyArray<string>>()
    const runtimeIds = new Set<string>()
    const sent = new Set<string>()
    const seenTypes = new Set<string>()
    const killLog: Array<string> = []
    const problems: Array<string> = []
    let readAfter: Position | undefined
    let lastDecision = "none"

    /** The event types of the tenant the store has had so far, read on from where the last look stopped. */
    const lookAtStore = Effect.gen(function* () {
      const events = yield* store.readAll(readAfter === undefined ? {} : { after: readAfter }).pipe(Effect.orDie)
      for (const event of events.filter((e) => e.tenant === tenant)) {
        seenTypes.add(event.type)
        if (isDecision(event)) lastDecision = event.type
      }
      readAfter = events.at(-1)?.position ?? readAfter
    })

    const sendCommand = (command: ScenarioCommand) =>
      Effect.gen(function* () {
        sent.add(command.type)
        // No responder while `umbra serve` restarts, or no reply from one killed mid-command: the same id again.
        const reply = yield* send(tenant, command.type, command.data, command.commandId, 3_000).pipe(
          Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 600 }),
          Effect.timeout("2 minutes"),
          Effect.orDie
        )
        assert.isTrue(reply.ok, `${command.type} refused: ${JSON.stringify(reply)}`)
        const ids = (reply.events ?? []).map((event) => event.id)
        const first = acked.get(command.commandId)
        if (first === undefined) acked.set(command.commandId, ids)
        else if (JSON.stringify(first) !== JSON.stringify(ids)) problems.push(`${command.type} sent again answered ${ids} instead of ${first}`)
      })

    const generation = yield* Ref.make(0)
    const current = yield* Ref.make(yield* start)

    const killer = Effect.forEach(
      kills,
      (point) =>
        Effect.gen(function* () {
          const { after, name } = point.trigger
          yield* eventually(
            after === "command" ? Effect.sync(() => sent.has(name)) : lookAtStore.pipe(Effect.map(() => seenTypes.has(name))),
            180_000,
            `the kill point ${describeKillPoint(point)}`
          )
          yield* Effect.sleep(point.delayMs)
          yield* lookAtStore
          yield* stopProcess(yield* Ref.get(current), "SIGKILL")
          killLog.push(`${describeKillPoint(point)} (the last decision stored then: ${lastDecision})`)
          yield* Ref.set(current, yield* start)
          yield* Ref.update(generation, (n) => n + 1)
        }),
      { discard: true }
    )

    /** Waits for a step's effect; after each restart its command is sent again (same id), as a client would. */
    const awaitStep = (command: ScenarioCommand, reached: Effect.Effect<boolean, unknown, EventStore>) =>
      Effect.gen(function* () {
        let sentIn = yield* Ref.get(generation)
        yield* eventually(
          Effect.gen(function* () {
            for (const info of yield* instances.list({ tenant }).pipe(Effect.orDie)) if (info.runtimeId !== "") runtimeIds.add(info.runtimeId)
            const now = yield* Ref.get(generation)
            if (now !== sentIn) {
              sentIn = now
              yield* sendCommand(command)
            }
            return yield* reached.pipe(Effect.orDie)
          }),
          180_000,
          `${command.type} carried through`
        )
      })

    const killing = yield* Effect.forkChild(killer)
    for (const [index, command] of commands.entries()) {
      yield* sendCommand(command)
      yield* awaitStep(command, done[index]!)
    }
    yield* Fiber.join(killing)
    // Kills left after the last step hit the end state itself: it must hold after the last restart too.
    for (const [index, command] of commands.entries()) yield* awaitStep(command, done[index]!)
    for (const command of commands) yield* sendCommand(command)

    return { tenant, clientId, launchId, acked, runtimeIds, kills: killLog, problems } satisfies ScenarioRun
  })
