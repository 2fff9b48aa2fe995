import { randomUUID } from "node:crypto"
import type { CommandId } from "../../domain/ids.ts"
import type { CommandEnvelope } from "../../src/commands/commandHandler.ts"

/** A command envelope for tenant `acme` at a fixed time, with a fresh id unless one is given. */
export const command = (type: string, data: unknown, commandId: string = randomUUID()): CommandEnvelope => ({
  tenant: "acme",
  type,
  commandId: commandId as CommandId,
  correlationId: commandId,
  data,
  at: "2026-11-30T12:00:00.000Z"
})
