import { Effect } from "effect"
import type { CommandType, DomainCommand } from "../../domain/commands.ts"
import type { requestProductionDefaults } from "../../domain/launch/launch.ts"
import { decodePublicCommand } from "../../src/commands/commandGateway.ts"
import { CommandRejected } from "./clientErrors.ts"

/** The commands a tenant may send (the aggregates' `access` says which; a unit test holds the two together). */
export const publicCommands = [
  "ConnectClient",
  "DisconnectClient",
  "SetTemplate",
  "SetNetwork",
  "RefineProfile",
  "RequestProduction"
] as const satisfies ReadonlyArray<CommandType>
export type PublicCommandType = (typeof publicCommands)[number]

/** The fields a sender may leave out, which the server fills in from the command id. */
interface Defaulted {
  readonly RequestProduction: keyof ReturnType<typeof requestProductionDefaults>
}

type Encoded<T extends PublicCommandType> = Omit<Extract<typeof DomainCommand.Encoded, { readonly _tag: T }>, "_tag">
type Optional<A, K extends PropertyKey> = Omit<A, K> & Partial<Pick<A, Extract<K, keyof A>>>

/** A public command's fields as JSON carries them: the command's own schema, less its tag and its defaults. */
export type CommandData<T extends PublicCommandType> = T extends keyof Defaulted ? Optional<Encoded<T>, Defaulted[T]> : Encoded<T>

/**
 * The server's own check of a command (its schema, with the defaults it fills in), made before sending:
 * data the server would refuse never leaves the process.
 */
export const checkCommand = (type: PublicCommandType, data: unknown, commandId: string) =>
  decodePublicCommand(type, data, commandId).pipe(
    Effect.mapError((error) => new CommandRejected(error._tag, error.message, error.details, false)),
    Effect.asVoid
  )
