import { DateTime, Effect } from "effect"
import { nameBasedId } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import { CommandHandler } from "../commands/commandHandler.ts"

/**
 * Sends a command for the orchestrator. The id is derived from `key` (what caused it), so the same cause
 * repeated after a crash or a redelivery is answered as a duplicate and appends nothing.
 */
export const issueCommand = Effect.fn("Orchestrator.issueCommand")(function* (
  tenant: string,
  type: string,
  key: string,
  data: Record<string, unknown>,
  correlationId: string = key
) {
  const handler = yield* CommandHandler
  return yield* handler.handle({
    tenant,
    type,
    commandId: nameBasedId(key) as CommandId,
    correlationId,
    data,
    at: DateTime.formatIso(yield* DateTime.now)
  })
})

/** The same, for commands whose refusal by the aggregate (the state moved on) is an outcome to log, not a fault. */
export const issueCommandOrLog = (
  tenant: string,
  type: string,
  key: string,
  data: Record<string, unknown>,
  correlationId?: string
) =>
  issueCommand(tenant, type, key, data, correlationId).pipe(
    Effect.asVoid,
    Effect.catchTags({
      IllegalState: (error) => Effect.logInfo("orchestrator command refused", { commandType: type, message: error.message }),
      NotFound: (error) => Effect.logInfo("orchestrator command refused", { commandType: type, message: error.message }),
      ValidationFailed: (error) => Effect.logError("orchestrator sent an invalid command", { commandType: type, message: error.message })
    })
  )
