import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")
const moduleLog = join(import.meta.dirname, "..", "support", "moduleLog.ts")
const dir = mkdtempSync(join(tmpdir(), "umbra-startup-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `umbra <args>` as its own process, with its cache under `dir`; the modules it loaded. */
const modulesLoadedBy = (...args: ReadonlyArray<string>) =>
  new Promise<ReadonlyArray<string>>((resolve, reject) => {
    const log = join(dir, `modules-${args.join("-")}.txt`)
    execFile(
      process.execPath,
      ["--import", moduleLog, main, ...args],
      { timeout: 60_000, env: { ...process.env, UMBRA_TEST_MODULE_LOG: log, XDG_CACHE_HOME: join(dir, "cache"), UMBRA_LOG_LEVEL: "error" } },
      (error) => (error === null ? resolve(readFileSync(log, "utf8").split("\n")) : reject(error))
    )
  })

describe("a command's start", () => {
  it("loads that command's modules only: not the other commands', nor the KurrentDB client on the SQLite store", async () => {
    const loaded = await modulesLoadedBy("streams", "--help")
    expect(loaded.some((url) => url.endsWith("/infra/cli/streamsCommand.ts"))).toBe(true)
    for (const other of ["serveCommand", "demoCommand", "sendCommand", "replayCommand", "agentCommand", "backtestCommand"]) {
      expect(loaded.filter((url) => url.includes(`/${other}.ts`))).toEqual([])
    }
    expect(loaded.filter((url) => /@kurrent|@grpc|dockerode/.test(url))).toEqual([])
  })

  it("serve loads the Docker client only when it tries the Docker runtime, not with its modules", async () => {
    const loaded = await modulesLoadedBy("serve", "--help")
    expect(loaded.some((url) => url.endsWith("/infra/serve/controlPlane.ts"))).toBe(true)
    expect(loaded.filter((url) => /dockerode|\/infra\/docker\/|\/infra\/images\/imageBuild/.test(url))).toEqual([])
  })

  it("keeps the code it compiled in the user's cache directory, for the next start", async () => {
    await modulesLoadedBy("query", "--help")
    const cache = join(dir, "cache", "umbra", "compile-cache")
    expect(readdirSync(cache, { recursive: true }).length).toBeGreaterThan(0)
  })
})
