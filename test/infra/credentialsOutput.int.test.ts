import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../../infra/nats/natsServerProcess.ts"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/** `umbra serve` run to its end (or killed after 60 s), with everything it wrote to stdout and stderr. */
const serve = (env: Record<string, string>) =>
  Effect.callback<string>((resume) => {
    const child = spawn(process.execPath, [main, "serve"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed(output))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("umbra serve", () => {
  it.effect("prints no password of NATS_URL when no server answers there", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const dataDir = mkdtempSync(join(tmpdir(), "umbra-secret-"))
      const output = yield* serve({ NATS_URL: `nats://u:secret@127.0.0.1:${port}`, UMBRA_DATA_DIR: dataDir, UMBRA_LOG_FORMAT: "json", UMBRA_HTTP_PORT: "0" }).pipe(
        Effect.ensuring(Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      )
      assert.include(output, `127.0.0.1:${port}`)
      assert.notInclude(output, "secret")
    }), 90_000)
})
