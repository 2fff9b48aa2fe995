import { DateTime, Effect, Option } from "effect"
import type { DomainCommand } from "../../domain/commands.ts"
import type { DomainError } from "../../domain/errors.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import { CommandHandler, type CommandOutcome } from "./commandHandler.ts"

/** Why Umbra sends a command: the id it is sent under and the correlation it belongs to. */
export interface Cause {
  readonly commandId: CommandId
  readonly correlationId: string
}

/**
 * A cause named by `key` (what happened, e.g. `started/<tenant>/<instance>`): the same key always gives the
 * same command id, so the same cause repeated after a crash or a redelivery appends nothing.
 */
export const causedBy = (key: string, correlationId: string = key): Cause => ({
  commandId: nameBasedId(key) as CommandId,
  correlationId
})

/** Sends one of Umbra's own commands, in process, to the command handler. */
export const issueCommand = Effect.fnUntraced(function* (tenant: string, cause: Cause, command: DomainCommand) {
  const handler = yield* CommandHandler
  return yield* handler.handle({
    tenant,
    commandId: cause.commandId,
    correlationId: cause.correlationId,
    command,
    at: DateTime.formatIso(yield* DateTime.now)
  })
})

/**
 * The same, for a command the aggregate may refuse because its state moved on: a refusal is an outcome to log,
 * not a fault to retry. Some(outcome) when accepted, None when refused; a failure of the store stays a failure.
 */
export const issueOrLogRefusal = (tenant: string, cause: Cause, command: DomainCommand) => {
  const refused = (error: DomainError) =>
    (error._tag === "ValidationFailed"
      ? Effect.logError("Umbra sent an invalid command", { commandType: command._tag, message: error.message })
      : Effect.logInfo("command refused", { commandType: command._tag, message: error.message })
    ).pipe(Effect.as(Option.none<CommandOutcome>()))
  return issueCommand(tenant, cause, command).pipe(
    Effect.map(Option.some),
    Effect.catchTags({ IllegalState: refused, NotFound: refused, ValidationFailed: refused })
  )
}
