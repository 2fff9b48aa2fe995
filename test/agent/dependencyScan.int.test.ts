import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { scanDependencies } from "../../infra/agent/dependencyScan.ts"
import { preloadFiles } from "../../infra/agent/preload.ts"

const scratchDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "umbra-deps-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** A workload whose child holds `held` and `scratch` open until it is killed: what a warm-up leaves loaded. */
const holdingWorkload = (held: string, scratch: string) =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess>((resume) => {
      const script = `const fs = require("node:fs"); fs.openSync(${JSON.stringify(held)}, "r"); fs.openSync(${JSON.stringify(scratch)}, "r"); console.log("held"); setInterval(() => {}, 1000)`
      // A shell in between: the files are opened by the workload's child, as a launcher script's would be.
      const child = spawn("sh", ["-c", `"${process.execPath}" -e '${script}'`], { stdio: ["ignore", "pipe", "inherit"], detached: true })
      child.stdout!.once("data", () => resume(Effect.succeed(child)))
    }),
    (child) => Effect.sync(() => process.kill(-child.pid!, "SIGKILL"))
  )

describe("the agent's view of its workload's dependencies", () => {
  it.live("names the libraries its processes map, the files they hold open and its state, not scratch or the kernel's files", () =>
    Effect.gen(function* () {
      const dir = yield* scratchDir
      const held = join(dir, "dataset.bin")
      const state = join(dir, "state")
      const scratch = join(dir, "tmp")
      yield* Effect.promise(async () => {
        await writeFile(held, "x".repeat(4096))
        await mkdir(join(state, "cache"), { recursive: true })
        await writeFile(join(state, "cache", "warm.json"), "{}")
        await mkdir(scratch)
        await writeFile(join(scratch, "left-over"), "y")
      })
      const workload = yield* holdingWorkload(held, join(scratch, "left-over"))
      const files = yield* scanDependencies(workload.pid!, [state], [scratch])
      const byPath = new Map(files.map((file) => [file.path, file]))
      assert.deepStrictEqual(byPath.get(held), { path: held, kind: "file", bytes: 4096 })
      assert.deepStrictEqual(byPath.get(join(state, "cache", "warm.json")), { path: join(state, "cache", "warm.json"), kind: "state", bytes: 2 })
      assert.isTrue(files.some((file) => file.kind === "library" && /libc\.so|\/node$/.test(file.path)), JSON.stringify(files))
      assert.isFalse(files.some((file) => file.path.startsWith(scratch) || /^\/(proc|sys|dev)\//.test(file.path)))
      // Libraries first: a report cut at its bound keeps what a start needs most.
      assert.strictEqual(files[0]!.kind, "library")
    }).pipe(Effect.scoped))

  it.live("reads regular files into the page cache and skips what is none, gone, or the kernel's, without blocking on a FIFO", () =>
    Effect.gen(function* () {
      const dir = yield* scratchDir
      const lib = join(dir, "libwarm.so")
      const fifo = join(dir, "pipe")
      yield* Effect.promise(() => writeFile(lib, Buffer.alloc(3 * 1024 * 1024 + 5)))
      execFileSync("mkfifo", [fifo])
      const preloaded = yield* preloadFiles([lib, fifo, join(dir, "gone.so"), "/proc/self/status", dir])
      assert.deepInclude(preloaded, { files: 1, bytes: 3 * 1024 * 1024 + 5, skipped: 4 })
    }).pipe(Effect.scoped))
})
