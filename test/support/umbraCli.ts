import { Effect } from "effect"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/** `umbra <args>` as its own process on the data directory `dataDir`, with `env` added: exit code, stdout and stderr. */
export const umbra = (dataDir: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  Effect.callback<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, UMBRA_DATA_DIR: dataDir, UMBRA_LOG_LEVEL: "error", ...env } }, (error, stdout, stderr) => {
      resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
    })
  })

/** A temporary directory for the scope, removed with it. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
