import { Effect, Option, Schema } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { instanceAggregate, shouldRun } from "../../domain/instance/instance.ts"
import { DependencyReport } from "../../domain/signals.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import type { CommandHandler } from "../commands/commandHandler.ts"
import { causedBy, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import type { DeliveredSignal } from "../eventBus.ts"
import type { EventStore } from "../eventStore/eventStore.ts"
import { followLiveSignals } from "../telemetry/liveSignals.ts"

const decodeReport = Schema.decodeUnknownOption(Schema.fromJsonString(DependencyReport))
const text = new TextDecoder()

/**
 * Turns each instance's dependency report into its client's profile: `RecordDependencies`, for the client
 * the instance runs for by its own aggregate (never the client a report might claim), while it is to run. A
 * report that does not decode, or names another instance than its subject, is dropped and logged.
 */
export const runDependencyRecorder = Effect.fn("DependencyRecorder.run")(function* () {
  const services = yield* Effect.context<EventStore | CommandHandler>()

  const onSignal = (signal: DeliveredSignal) =>
    Effect.gen(function* () {
      const parts = parseSignalSubject(signal.subject)
      const report = decodeReport(text.decode(signal.data))
      if (parts === undefined || !tokenPattern.test(parts.tenant) || Option.isNone(report) || report.value.instanceId !== parts.instanceId) {
        return yield* Effect.logWarning("dropped a dependency report that does not decode", { subject: signal.subject })
      }
      const { tenant, instanceId } = parts
      const instance = (yield* loadAggregate(instanceAggregate, tenant, instanceId)).state
      // Requested too: a workload may be ready before its InstanceStarted is recorded.
      if (instance._tag !== "Requested" && !shouldRun(instance)) return
      const { clientId } = instance.spec
      // Keyed by the signal's place in UMBRA_SIGNALS: a second node taking the same report sends the same command.
      const cause = causedBy(`dependencies/${tenant}/${instanceId}/${signal.seq}`)
      const outcome = yield* issueOrLogRefusal(tenant, cause, { _tag: "RecordDependencies", clientId, instanceId: report.value.instanceId, files: report.value.files })
      if (Option.isSome(outcome) && outcome.value.events.length > 0) yield* Effect.logInfo("dependencies inferred from use", { tenant, clientId, instanceId })
    }).pipe(
      Effect.catchCause((cause) => Effect.logWarning("cannot record an instance's dependencies; its next warm-up reports them again", { subject: signal.subject, cause })),
      Effect.provideContext(services)
    )

  yield* followLiveSignals("umbra.sig.*.*.dp", "dependency recorder", onSignal)
})
