import { Cause, Effect, Exit, Runtime } from "effect"

/**
 * Runs a CLI program whose success value is the exit code. SIGINT and SIGTERM interrupt it, so every
 * scope closes (servers drained, children stopped) before the process exits 0.
 */
export const runMain = Runtime.makeRunMain(({ fiber }) => {
  const interrupt = () => fiber.interruptUnsafe()
  process.once("SIGINT", interrupt)
  process.once("SIGTERM", interrupt)
  fiber.addObserver((exit) => {
    process.off("SIGINT", interrupt)
    process.off("SIGTERM", interrupt)
    if (Exit.isSuccess(exit)) {
      process.exitCode = typeof exit.value === "number" ? exit.value : 0
    } else if (Cause.hasInterruptsOnly(exit.cause)) {
      process.exitCode = 0
    } else {
      process.stderr.write(`umbra: ${Cause.pretty(exit.cause)}\n`)
      process.exitCode = 1
    }
  })
})

/** A usage error: said on stderr with the command's help, exit code 2. */
export const usage = (message: string, help: string) =>
  Effect.sync(() => {
    process.stderr.write(`umbra: ${message}\n\n${help}\n`)
    return 2
  })

/** Writes a line on stdout: what a command prints for people or for pipes (logs go to stderr). */
export const print = (line: string) => Effect.sync(() => void process.stdout.write(`${line}\n`))
