import { appendFileSync } from "node:fs"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import * as dockerRuntime from "../../infra/docker/dockerRuntime.ts"
import * as processRuntime from "../../infra/process/processRuntime.ts"
import { shadowTestSettings } from "./shadowHarness.ts"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/** Stops a child with `signal` and waits for it to exit. */
export const stopProcess = (child: ChildProcess, signal: NodeJS.Signals) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill(signal)
  })

/**
 * `umbra serve` as its own OS process with `env` added to this one's, resolved once its log says `readyLine`.
 * Killed when the scope closes if the test has not stopped it, so a failing test leaves nothing running.
 */
export const serveProcess = (env: Readonly<Record<string, string>>, readyLine: string) =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess>((resume) => {
      const child = spawn(process.execPath, [main, "serve"], {
        // A free port for /metrics: tests run several at once, and 8080 may be anyone's.
        env: { ...process.env, UMBRA_LOG_FORMAT: "json", UMBRA_LOG_LEVEL: "info", UMBRA_HTTP_PORT: "0", ...env },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let log = ""
      // UMBRA_TEST_SERVE_LOG=<file> keeps every serve's log there, for a failure that needs it.
      const keep = process.env["UMBRA_TEST_SERVE_LOG"]
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        if (keep !== undefined) appendFileSync(keep, chunk)
        log += chunk
        if (log.includes(readyLine)) resume(Effect.succeed(child))
      })
      child.once("exit", (code) => resume(Effect.die(new Error(`umbra serve exited (${code}) before "${readyLine}":\n${log}`))))
    }).pipe(Effect.timeout("60 seconds"), Effect.orDie),
    (child) => stopProcess(child, "SIGKILL")
  )

/**
 * `umbra serve` with its orchestrator on `runtime`, heartbeats and the shadow floor of the shadow tests, and
 * `env` on top; resolved once the orchestrator runs.
 */
export const orchestratedServe = (
  runtime: "docker" | "process",
  natsUrl: string,
  dataDir: string,
  env: Readonly<Record<string, string>> = {}
) =>
  serveProcess(
    {
      NATS_URL: natsUrl,
      UMBRA_DATA_DIR: dataDir,
      UMBRA_ORCHESTRATOR: "on",
      UMBRA_RUNTIME: runtime,
      UMBRA_HEARTBEAT_MS: String(shadowTestSettings.heartbeatMs),
      UMBRA_SHADOW_MIN_MEMORY_MIB: String(shadowTestSettings.shadowMinMemoryMiB),
      ...env
    },
    "Umbra orchestrator running"
  )

/** The runtime a `umbra serve` on `runtime` uses, for a test's own view of its instances (same engine, same data directory). */
export const runtimeBesideServe = (runtime: "docker" | "process", natsUrl: string, dataDir: string) =>
  runtime === "docker"
    ? dockerRuntime.layer({ natsUrl, stopTimeoutSeconds: 2 })
    : processRuntime.layer({ dataDir, natsUrl, stopGraceMs: 2_000 })
