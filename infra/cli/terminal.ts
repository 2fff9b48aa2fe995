import { Effect } from "effect"

/**
 * The paragraph that ends every command's help. 0, 1 and 2 mean the same in every command (README's table
 * of exit codes); `done` and `failed` say what they mean for this one.
 */
export const exitCodesHelp = (done: string, failed: string) =>
  `Exit codes:\n  0  ${done}\n  1  ${failed}\n  2  a usage error: what was wrong is said first, then this help`

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
