import { Cause, Exit, Runtime } from "effect"
import { redactCredentials } from "./logging/redactCredentials.ts"

/**
 * Runs a program (the CLI, the agent, the sample workload) whose success value is the exit code. SIGINT and SIGTERM interrupt it, so every
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
      // A failure may quote a URL with its password (NATS_URL, KURRENTDB_URL): never printed.
      process.stderr.write(`umbra: ${redactCredentials(Cause.pretty(exit.cause))}\n`)
      process.exitCode = 1
    }
  })
})
