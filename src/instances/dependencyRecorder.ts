import { Effect, Option, Schema, Stream } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { instanceAggregate, shouldRun } from "../../domain/instance/instance.ts"
import { DependencyReport } from "../../domain/signals.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import { resumingFromCheckpoint } from "../backoff.ts"
import { Checkpoints } from "../checkpoints.ts"
import type { CommandHandler } from "../commands/commandHandler.ts"
import { causedBy, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { isOutage } from "../deadLetters.ts"
import { type DeliveredSignal, EventBus } from "../eventBus.ts"
import type { EventStore } from "../eventStore/eventStore.ts"
import { positionFrom, positionToBigInt } from "../eventStore/position.ts"

export const dependencyRecorderReader = "dependency-recorder"

const decodeReport = Schema.decodeUnknownOption(Schema.fromJsonString(DependencyReport))
const text = new TextDecoder()

/**
 * Turns each instance's dependency report into its client's profile: `RecordDependencies`, for the client
 * the instance runs for by its own aggregate (never the client a report might claim), while it is to run. A
 * report that does not decode, or names another instance than its subject, is dropped and logged. Reports
 * are read from UMBRA_SIGNALS after the recorder's checkpoint, so those sent while Umbra was down are
 * recorded when it is back; an outage of the store or the bus is waited out from the checkpoint.
 */
export const runDependencyRecorder = Effect.fn("DependencyRecorder.run")(function* () {
  const services = yield* Effect.context<EventStore | CommandHandler>()
  const bus = yield* EventBus
  const checkpoints = yield* Checkpoints

  /** A report this recorder cannot take is not retried: the instance reports again at its next warm-up. */
  const giveUp = (signal: DeliveredSignal, cause: unknown) =>
    Effect.logWarning("cannot record an instance's dependencies; its next warm-up reports them again", { subject: signal.subject, cause })

  const record = (signal: DeliveredSignal) =>
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
      // Keyed by the signal's place in UMBRA_SIGNALS: a report taken again (a second node, a restart before
      // the checkpoint moved) sends the same command.
      const cause = causedBy(`dependencies/${tenant}/${instanceId}/${signal.seq}`)
      const outcome = yield* issueOrLogRefusal(tenant, cause, { _tag: "RecordDependencies", clientId, instanceId: report.value.instanceId, files: report.value.files })
      if (Option.isSome(outcome) && outcome.value.events.length > 0) yield* Effect.logInfo("dependencies inferred from use", { tenant, clientId, instanceId })
    }).pipe(
      Effect.catch((error) => (isOutage(error) ? Effect.fail(error) : giveUp(signal, error))),
      Effect.catchDefect((defect) => giveUp(signal, defect)),
      Effect.provideContext(services)
    )

  const follow = Effect.gen(function* () {
    const checkpoint = yield* checkpoints.load(dependencyRecorderReader)
    const from = checkpoint === undefined ? 1 : Number(positionToBigInt(checkpoint)) + 1
    yield* bus.followSignals({ filterSubject: "umbra.sig.*.*.dp", from }).pipe(
      Stream.runForEach((signal) => record(signal).pipe(Effect.andThen(checkpoints.save(dependencyRecorderReader, positionFrom(signal.seq)))))
    )
  })
  yield* resumingFromCheckpoint("dependency recorder")(follow).pipe(Effect.forkScoped)
})
