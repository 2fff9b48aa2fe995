import { Effect } from "effect"

/** A usage error: said on stderr with the command's help, exit code 2. */
export const usage = (message: string, help: string) =>
  Effect.sync(() => {
    process.stderr.write(`umbra: ${message}\n\n${help}\n`)
    return 2
  })

/** Writes a line on stdout: what a command prints for people or for pipes (logs go to stderr). */
export const print = (line: string) => Effect.sync(() => void process.stdout.write(`${line}\n`))

/** A command that could not finish: said on stderr, exit code 1. */
export const failed = (message: string) =>
  Effect.sync(() => {
    process.stderr.write(`umbra: ${message}\n`)
    return 1
  })
