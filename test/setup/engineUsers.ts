import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { alive } from "../support/processAlive.ts"

/**
 * The test runs that use a dockerd one of them started, in a directory they share: each run registers while it
 * runs, and the last one to end stops the engine, so that a run that ends (a developer's) does not stop the
 * engine under another (CI) that found it answering. A run that died without leaving counts no longer.
 */
const engineFile = (dir: string) => join(dir, "engine")
const userPrefix = "user-"

const register = (dir: string, userPid: number) => writeFileSync(join(dir, `${userPrefix}${userPid}`), "")

/** Whether the process is a dockerd: a PID the engine had may belong to another process by now. */
const isDockerd = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!.endsWith("dockerd")
  } catch {
    return false
  }
}

/** The PID of the engine a test run started, while it runs. */
const testEngine = (dir: string): number | undefined => {
  if (!existsSync(engineFile(dir))) return undefined
  const pid = Number(readFileSync(engineFile(dir), "utf8").trim())
  return Number.isInteger(pid) && pid > 0 && isDockerd(pid) ? pid : undefined
}

/** Records the engine this run started, and the run as its first user. */
export const claimStarted = (dir: string, enginePid: number, userPid: number) => {
  mkdirSync(dir, { recursive: true })
  writeFileSync(engineFile(dir), String(enginePid))
  register(dir, userPid)
}

/** When the engine that answers is one a test run started, registers this run as a user of it and returns its PID. */
export const joinTestEngine = (dir: string, userPid: number): number | undefined => {
  mkdirSync(dir, { recursive: true })
  const enginePid = testEngine(dir)
  if (enginePid !== undefined) register(dir, userPid)
  return enginePid
}

/**
 * Ends this run's use: the engine's PID when no other live run uses it (the caller stops it), the PIDs of
 * the runs that still do, or none when no engine a test run started runs any more.
 */
export const leave = (
  dir: string,
  userPid: number
): { readonly kind: "last"; readonly enginePid: number } | { readonly kind: "shared"; readonly users: ReadonlyArray<number> } | { readonly kind: "none" } => {
  rmSync(join(dir, `${userPrefix}${userPid}`), { force: true })
  const enginePid = testEngine(dir)
  if (enginePid === undefined) return { kind: "none" }
  const users = readdirSync(dir).flatMap((name) => {
    if (!name.startsWith(userPrefix)) return []
    const pid = Number(name.slice(userPrefix.length))
    if (alive(pid)) return [pid]
    rmSync(join(dir, name), { force: true })
    return []
  })
  if (users.length > 0) return { kind: "shared", users }
  rmSync(engineFile(dir), { force: true })
  return { kind: "last", enginePid }
}
