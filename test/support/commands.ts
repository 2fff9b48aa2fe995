import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { decodeCommand } from "../../domain/commands.ts"
import type { CommandId } from "../../domain/ids.ts"
import type { CommandEnvelope } from "../../src/commands/commandHandler.ts"

/**
 * A command envelope for tenant `acme` at a fixed time, with a fresh id unless one is given; the command is
 * decoded from its type and fields as the gateway would (defaults filled in), internal commands included.
 */
export const command = (type: string, data: unknown, commandId: string = randomUUID()): CommandEnvelope => {
  const decoded = decodeCommand(type, data, commandId)
  if (decoded === undefined) throw new Error(`there is no command ${type}`)
  return {
    tenant: "acme",
    commandId: commandId as CommandId,
    correlationId: commandId,
    command: Effect.runSync(decoded),
    at: "2026-11-30T12:00:00.000Z"
  }
}
