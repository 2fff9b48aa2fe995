import { spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { setTimeout as sleep } from "node:timers/promises"
import { alive } from "../support/processAlive.ts"

/** The flags of the engine the tests use (FIELD-NOTES.md): no docker0 bridge, no iptables rules, no NAT. */
export const dockerdArgs = ["--bridge=none", "--iptables=false", "--ip-masq=false"] as const

/** An engine the setup started, to be stopped by its PID when the tests end. */
export interface StartedEngine {
  readonly pid: number
  readonly logFile: string
}

export interface StartOptions {
  readonly dockerd: string
  readonly logFile: string
  /** Whether the engine answers now. */
  readonly answers: () => Promise<boolean>
  /** How long dockerd may take to answer before the setup gives up and stops it. */
  readonly timeoutMs: number
  /**
   * How long to wait for an engine after this dockerd exited: one started at the same moment (another test
   * run) holds the PID file, and this one exits while that one comes up.
   */
  readonly afterExitMs: number
}

const logTail = async (logFile: string) =>
  (await readFile(logFile, "utf8").catch(() => "")).split("\n").slice(-30).join("\n")

/**
 * Starts dockerd with its output in `logFile` and resolves once the engine answers: `started` with its PID,
 * or `found` when this dockerd exited but an engine answers anyway (another one came up meanwhile, and is
 * not ours to stop). Fails with the log's tail when dockerd exits or does not answer in time.
 */
export const startDockerd = async (
  options: StartOptions
): Promise<{ readonly kind: "started"; readonly engine: StartedEngine } | { readonly kind: "found" }> => {
  const log = openSync(options.logFile, "a")
  const child = spawn(options.dockerd, [...dockerdArgs], { stdio: ["ignore", log, log] })
  closeSync(log)
  let exit: { readonly how: string; readonly at: number } | undefined
  const exited = (how: string) => (exit = { how, at: Date.now() })
  child.once("exit", (code, signal) => exited(signal === null ? `exited with code ${code}` : `ended by ${signal}`))
  child.once("error", (error) => exited(error.message))
  const deadline = Date.now() + options.timeoutMs
  while (Date.now() < deadline) {
    if (await options.answers()) {
      if (exit !== undefined || child.pid === undefined) return { kind: "found" }
      return { kind: "started", engine: { pid: child.pid, logFile: options.logFile } }
    }
    if (exit !== undefined && Date.now() - exit.at > options.afterExitMs) {
      throw new Error(`dockerd ${exit.how} before answering; the end of ${options.logFile}:\n${await logTail(options.logFile)}`)
    }
    await sleep(250)
  }
  if (child.pid !== undefined) await stopDockerd({ pid: child.pid }, 10_000)
  throw new Error(`dockerd did not answer within ${options.timeoutMs} ms; the end of ${options.logFile}:\n${await logTail(options.logFile)}`)
}

/** Stops an engine a setup started: SIGTERM (dockerd stops its containers), then SIGKILL after `graceMs`. */
export const stopDockerd = async (engine: Pick<StartedEngine, "pid">, graceMs: number): Promise<void> => {
  if (!alive(engine.pid)) return
  process.kill(engine.pid, "SIGTERM")
  const deadline = Date.now() + graceMs
  while (alive(engine.pid) && Date.now() < deadline) await sleep(100)
  if (alive(engine.pid)) process.kill(engine.pid, "SIGKILL")
}
