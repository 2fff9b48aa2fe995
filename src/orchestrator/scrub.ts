import { Effect, Schema } from "effect"
import { ControlReplyJson } from "../../domain/control.ts"
import { subjects } from "../../domain/subjects.ts"
import { EventBus } from "../eventBus.ts"
import { issueCommandOrLog } from "./issueCommand.ts"

const decodeReply = Schema.decodeUnknownEffect(ControlReplyJson)
const request = new TextEncoder().encode(JSON.stringify({ op: "scrub" }))

/**
 * Empties a recycled shadow's state paths through its agent before the pool may hand it to another client.
 * A shadow that cannot be scrubbed is terminated: the pool never holds another client's data.
 */
export const scrubRecycled = Effect.fn("Orchestrator.scrubRecycled")(function* (
  tenant: string,
  instanceId: string,
  correlationId: string
) {
  const bus = yield* EventBus
  const reply = yield* bus.request(subjects.control(tenant, instanceId), request, 10_000).pipe(
    Effect.flatMap((bytes) => decodeReply(new TextDecoder().decode(bytes))),
    Effect.result
  )
  if (reply._tag === "Success" && reply.success.ok && reply.success.op === "scrub") {
    return yield* Effect.logInfo("recycled shadow scrubbed", { instanceId, removedFiles: reply.success.removedFiles, bytes: reply.success.bytes })
  }
  yield* Effect.logWarning("a recycled shadow could not be scrubbed; terminating it", { instanceId })
  yield* issueCommandOrLog(
    tenant,
    "TerminateInstance",
    `scrub-failed/${tenant}/${instanceId}`,
    { instanceId, reason: "its state could not be scrubbed for the pool" },
    correlationId
  )
})
