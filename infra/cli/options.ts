import { Effect, Schema } from "effect"
import { parseArgs, type ParseArgsConfig } from "node:util"

/** The command line does not parse: said with the command's help, exit code 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

/** `node:util`'s parseArgs, with its exceptions turned into a UsageError. */
export const parseOptions = <const T extends Omit<ParseArgsConfig, "args">>(argv: ReadonlyArray<string>, config: T) =>
  Effect.try({
    try: () => parseArgs({ ...config, args: [...argv] }),
    catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
  })
