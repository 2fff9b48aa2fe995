import { Clock, Effect, Option, Schedule } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate } from "../../domain/instance/instance.ts"
import type { SizingPolicy } from "../../domain/instance/sizingPolicy.ts"
import { decideUsageSize, shadowBounds, type UsageSample, type UsageSizingPolicy } from "../../domain/instance/usageSizing.ts"
import { profileAggregate } from "../../domain/profile/profile.ts"
import { subjects } from "../../domain/subjects.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import type { CommandHandler } from "../commands/commandHandler.ts"
import { causedBy, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { loadAggregate, loadAggregateHistory } from "../commands/loadAggregate.ts"
import type { DeliveredSignal } from "../eventBus.ts"
import type { EventStore } from "../eventStore/eventStore.ts"
import { followLiveSignals } from "../telemetry/liveSignals.ts"
import { decodeSignal } from "../telemetry/signalDecoding.ts"

export interface UsageSizerOptions {
  readonly policy: UsageSizingPolicy
  /** The floor and the share of the predicted peak: the bounds a shadow's use moves it between. */
  readonly sizing: SizingPolicy
  /** How often each shadow with recent samples is judged. */
  readonly checkEveryMs: number
}

interface Followed {
  readonly tenant: string
  readonly instanceId: InstanceId
  /** As its last heartbeat said; until one does, its samples are taken for a warming workload's. */
  warming: boolean
  samples: Array<UsageSample>
  lastSignalMs: number
}

const mebibyte = 1024 * 1024

/** When the shadow was last given a size (a recreation keeps it; a claim from the pool sets it anew). */
const lastSizedAt = (events: ReadonlyArray<{ readonly stored: StoredEvent; readonly event: { readonly _tag: string } }>) => {
  const last = events.findLast(({ event }) => event._tag === "InstanceResized" || event._tag === "InstanceClaimed")
  return last === undefined ? undefined : Date.parse(last.stored.at)
}

/**
 * Sizes running shadows by their own use: keeps a window of each instance's telemetry (marked warming as its
 * heartbeats say) and, every `checkEveryMs`, asks the usage-sizing decider whether the shadow should change
 * size within its bounds; a change is a ResizeInstance with the decider's reason, which the instance runner
 * carries out. Only running shadows are judged.
 */
export const runUsageSizer = Effect.fn("UsageSizer.run")(function* (options: UsageSizerOptions) {
  const services = yield* Effect.context<EventStore | CommandHandler>()
  const followed = new Map<string, Followed>()

  const onSignal = (signal: DeliveredSignal) =>
    Effect.gen(function* () {
      const decoded = decodeSignal(signal)
      if (decoded === undefined) return
      const instanceId = decoded.kind === "hb" ? decoded.heartbeat.instanceId : decoded.sample.instanceId
      const key = tenantKey(decoded.tenant, instanceId)
      // JetStream's time, not the agent's: windows and cool-downs are all by the control plane's clock.
      const nowMs = signal.storedAt ?? (yield* Clock.currentTimeMillis)
      const entry = followed.get(key) ?? { tenant: decoded.tenant, instanceId, warming: true, samples: [], lastSignalMs: nowMs }
      followed.set(key, entry)
      entry.lastSignalMs = nowMs
      if (decoded.kind === "hb") {
        // An agent from before `warming` does not say: its workload is taken as warm.
        entry.warming = decoded.heartbeat.warming ?? false
        return
      }
      const { cpu, memBytes } = decoded.sample
      entry.samples.push({ atMs: nowMs, cpuMillis: cpu * 1000, memoryMiB: memBytes / mebibyte, warming: entry.warming })
    })

  const judge = (entry: Followed, nowMs: number) =>
    Effect.gen(function* () {
      const { tenant, instanceId } = entry
      const { state, events } = yield* loadAggregateHistory(instanceAggregate, tenant, instanceId)
      // Production runs at the profile's full size: only shadows follow their use.
      if ((state._tag !== "Started" && state._tag !== "Ready") || state.spec.role !== "shadow") return
      const profile = (yield* loadAggregate(profileAggregate, tenant, state.spec.clientId)).state
      if (profile._tag !== "Active") return
      const decision = decideUsageSize(options.policy, {
        bounds: shadowBounds(profile.expected, options.sizing),
        current: state.spec.resources,
        samples: entry.samples,
        lastSizedAtMs: lastSizedAt(events),
        nowMs
      })
      if (decision._tag === "Keep") return
      // Keyed by the stream's revision: a second node judging the same state sends the same command, once.
      const cause = causedBy(`usage-size/${tenant}/${instanceId}/${events.at(-1)!.stored.revision}`)
      const resize = { _tag: "ResizeInstance", instanceId, resources: decision.resources, reason: decision.reason } as const
      const outcome = yield* issueOrLogRefusal(tenant, cause, resize)
      if (Option.isSome(outcome)) yield* Effect.logInfo("shadow sized by its use", { tenant, instanceId, resources: decision.resources, reason: decision.reason })
    }).pipe(
      Effect.catchCause((cause) => Effect.logWarning("cannot size a shadow by its use; judged again next time", { tenant: entry.tenant, instanceId: entry.instanceId, cause })),
      Effect.provideContext(services)
    )

  const judgeAll = Effect.gen(function* () {
    const nowMs = yield* Clock.currentTimeMillis
    const since = nowMs - options.policy.windowMs
    for (const [key, entry] of [...followed]) {
      entry.samples = entry.samples.filter((sample) => sample.atMs > since)
      // Gone quiet for a window (stopped, or production's): nothing left to judge it by.
      if (entry.lastSignalMs <= since) followed.delete(key)
      else if (entry.samples.some((sample) => !sample.warming)) yield* judge(entry, nowMs)
    }
  })

  yield* followLiveSignals(subjects.signalsRoot, "usage sizer", onSignal)
  yield* judgeAll.pipe(Effect.repeat(Schedule.spaced(options.checkEveryMs)), Effect.forkScoped)
})
