import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtemp, rm, symlink } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { claimStarted, joinTestEngine, leave } from "./engineUsers.ts"

/** Test runs sharing a dockerd one of them started: `sleep` stands in for the engine (named dockerd) and for the runs. */
let dir = ""
let users = ""
const processes: Array<ChildProcess> = []
const sleeping = (command = "sleep") => {
  const child = spawn(command, ["600"], { stdio: "ignore" })
  processes.push(child)
  return child.pid!
}
const exited = async () => {
  const child = spawn("true", { stdio: "ignore" })
  await once(child, "exit")
  return child.pid!
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "umbra-engine-users-"))
  users = join(dir, "users")
  await symlink("/bin/sleep", join(dir, "dockerd"))
})
afterEach(async () => {
  for (const child of processes.splice(0)) child.kill("SIGKILL")
  await rm(dir, { recursive: true, force: true })
})

describe("test runs sharing a dockerd a test run started", () => {
  it("the run that started it leaves it to a run still using it; the last run to end stops it", () => {
    const engine = sleeping(join(dir, "dockerd"))
    const otherRun = sleeping()
    claimStarted(users, engine, process.pid)
    expect(joinTestEngine(users, otherRun)).toBe(engine)
    expect(leave(users, process.pid)).toEqual({ kind: "shared", users: [otherRun] })
    expect(leave(users, otherRun)).toEqual({ kind: "last", enginePid: engine })
    // Stopped by that run: a later run finds no test engine to join.
    expect(joinTestEngine(users, process.pid)).toBeUndefined()
  })

  it("a run that died without leaving does not keep the engine running", async () => {
    const engine = sleeping(join(dir, "dockerd"))
    claimStarted(users, engine, process.pid)
    expect(joinTestEngine(users, await exited())).toBe(engine)
    expect(leave(users, process.pid)).toEqual({ kind: "last", enginePid: engine })
  })

  it("a recorded PID that is no dockerd now (its engine gone, the PID another process's) is never stopped", async () => {
    claimStarted(users, sleeping(), process.pid)
    expect(joinTestEngine(users, sleeping())).toBeUndefined()
    expect(leave(users, process.pid)).toEqual({ kind: "none" })
    claimStarted(users, await exited(), process.pid)
    expect(leave(users, process.pid)).toEqual({ kind: "none" })
  })

  it("an engine no test run started is nobody's to stop", () => {
    expect(joinTestEngine(users, process.pid)).toBeUndefined()
    expect(leave(users, process.pid)).toEqual({ kind: "none" })
  })
})
