import { Effect, Schema } from "effect"
import { type ControlReply, ControlReplyJson, type ControlRequest } from "../../domain/control.ts"
import type { ClientId, InstanceId } from "../../domain/ids.ts"
import { subjects } from "../../domain/subjects.ts"
import { EventBus } from "../eventBus.ts"
import { causedBy, issueOrLogRefusal } from "../commands/issueCommand.ts"

const decodeReply = Schema.decodeUnknownEffect(ControlReplyJson)
const encoder = new TextEncoder()

/** Asks an instance's agent to do something; undefined when it does not answer, or answers nonsense. */
const askAgent = (tenant: string, instanceId: string, request: ControlRequest) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const reply = yield* bus.request(subjects.control(tenant, instanceId), encoder.encode(JSON.stringify(request)), 10_000).pipe(
      Effect.flatMap((bytes) => decodeReply(new TextDecoder().decode(bytes))),
      Effect.result
    )
    return reply._tag === "Success" ? reply.success : undefined
  })

const answered = <Op extends ControlRequest["op"]>(reply: ControlReply | undefined, op: Op) =>
  reply !== undefined && reply.ok && reply.op === op ? (reply as Extract<ControlReply, { readonly op: Op }>) : undefined

/**
 * Empties a recycled shadow's state paths through its agent before the pool may hand it to another client;
 * its shared paths stay warm, since the template declares them the image's, not the client's. A shadow that
 * cannot be scrubbed is terminated: the pool never holds another client's data.
 */
export const scrubRecycled = Effect.fn("Orchestrator.scrubRecycled")(function* (
  tenant: string,
  instanceId: string,
  correlationId: string
) {
  const scrubbed = answered(yield* askAgent(tenant, instanceId, { op: "scrub" }), "scrub")
  if (scrubbed !== undefined) {
    return yield* Effect.logInfo("recycled shadow scrubbed", { instanceId, removedFiles: scrubbed.removedFiles, bytes: scrubbed.bytes })
  }
  yield* Effect.logWarning("a recycled shadow could not be scrubbed; terminating it", { instanceId })
  yield* issueOrLogRefusal(tenant, causedBy(`scrub-failed/${tenant}/${instanceId}`, correlationId), {
    _tag: "TerminateInstance",
    instanceId: instanceId as InstanceId,
    reason: "its state could not be scrubbed for the pool"
  })
})

/**
 * Tells a claimed shadow's agent which client it now serves (its telemetry then counts for that client; a
 * workload that served another starts again): the first heartbeat that speaks for the new client's
 * workload, and whether it is ready already, when the agent says.
 */
export const assignClaimed = Effect.fn("Orchestrator.assignClaimed")(function* (tenant: string, instanceId: string, clientId: ClientId) {
  const assigned = answered(yield* askAgent(tenant, instanceId, { op: "assign", clientId }), "assign")
  if (assigned === undefined) {
    yield* Effect.logWarning("a claimed shadow's agent did not take its new client; its telemetry still names the last one", { instanceId, clientId })
  }
  return { readyFromSeq: assigned?.readyFromSeq, ready: assigned?.ready === true }
})

/**
 * Asks a shadow's agent to let its state settle and flush it to disk before the state is exported. A shadow
 * that does not answer is copied as it is: its files are still checked one by one on arrival.
 */
export const prepareTransfer = Effect.fn("Orchestrator.prepareTransfer")(function* (tenant: string, instanceId: string) {
  const prepared = answered(yield* askAgent(tenant, instanceId, { op: "prepareTransfer" }), "prepareTransfer")
  if (prepared === undefined) return yield* Effect.logWarning("the shadow's agent did not prepare its state; copying it as it is", { instanceId })
  yield* Effect.logInfo("shadow state prepared for transfer", { instanceId, settled: prepared.settled, files: prepared.files, bytes: prepared.bytes })
})
