import { access, chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { alive } from "../support/processAlive.ts"
import { startDockerd, stopDockerd } from "./dockerEngine.ts"

/**
 * The setup's start and stop of dockerd, with a stand-in binary (a shell script) in its place: a second real
 * dockerd on a machine that runs one would fight it for its socket and state.
 */
let dir = ""
const exists = (path: string) => access(path).then(() => true, () => false)

/** A stand-in that logs its arguments, answers (creates `ready`) after a moment, and runs until stopped. */
const standIn = async (name: string, body: string) => {
  const path = join(dir, name)
  await writeFile(path, `#!/bin/sh\necho "args: $*"\n${body}\n`)
  await chmod(path, 0o755)
  return path
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "umbra-dockerd-standin-"))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe("the test setup's dockerd", () => {
  it("started by the setup: waits until it answers, and is stopped by its PID", async () => {
    const ready = join(dir, "ready")
    const dockerd = await standIn("dockerd-ok", `sleep 0.3; touch ${ready}; exec sleep 600`)
    const logFile = join(dir, "ok.log")
    const outcome = await startDockerd({ dockerd, logFile, answers: () => exists(ready), timeoutMs: 30_000, afterExitMs: 0 })
    if (outcome.kind !== "started") throw new Error(`expected started, got ${outcome.kind}`)
    expect(alive(outcome.engine.pid)).toBe(true)
    expect(await readFile(logFile, "utf8")).toContain("args: --bridge=none --iptables=false --ip-masq=false")
    await stopDockerd(outcome.engine, 10_000)
    expect(alive(outcome.engine.pid)).toBe(false)
  })

  it("a dockerd that exits before answering fails the setup with its log", async () => {
    const dockerd = await standIn("dockerd-fails", `echo "failed to start daemon: pid file found" >&2; exit 1`)
    const logFile = join(dir, "fails.log")
    await expect(startDockerd({ dockerd, logFile, answers: async () => false, timeoutMs: 30_000, afterExitMs: 0 })).rejects.toThrow(
      /dockerd exited with code 1 before answering[\s\S]*failed to start daemon: pid file found/
    )
  })

  it("when another engine answers although this dockerd exited, that engine is not the setup's to stop", async () => {
    const dockerd = await standIn("dockerd-second", `echo "pid: $$"; exit 1`)
    const logFile = join(dir, "second.log")
    // Answers only once the stand-in has exited (and been reaped): another engine, come up meanwhile.
    const answers = async () => {
      const pid = /pid: (\d+)/.exec(await readFile(logFile, "utf8").catch(() => ""))?.[1]
      return pid !== undefined && !alive(Number(pid))
    }
    const outcome = await startDockerd({ dockerd, logFile, answers, timeoutMs: 30_000, afterExitMs: 30_000 })
    expect(outcome).toEqual({ kind: "found" })
  })
})
