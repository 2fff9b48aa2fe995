import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"
import { archiveOf, filesOf, listArchive, sha256 } from "../support/stateArchives.ts"

const { tenant, dataDir, testLayer } = processRuntimeFixture("ps", 2_000)
const key = (instanceId: string) => instanceKey(tenant, instanceId)
const statePaths = ["/var/lib/umbra/state", "/var/cache/umbra"]


const spec = (instanceId: string, port: number): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "production",
  image: sampleWorkloadImage,
  env: { PORT: String(port), UMBRA_READY_URL: `http://127.0.0.1:${port}/healthz` },
  statePaths,
  cpuMillis: 500,
  memoryMiB: 256,
  network: defaultNetwork
})

const stateDir = (instanceId: string, index: number) => join(instanceDir(dataDir, tenant, instanceId), "state", String(index))

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("process runtime state archives", (it) => {
  it.effect("creates an instance without a process, which is reported stopped and never mistaken for a dead one", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const created = yield* runtime.create(spec("prd-stopped", yield* Effect.promise(freePort)), { start: false })
      assert.deepInclude(created, { instanceId: "prd-stopped", running: false, runtimeId: "" })
      assert.isTrue(existsSync(stateDir("prd-stopped", 1)))
      assert.isFalse(existsSync(join(instanceDir(dataDir, tenant, "prd-stopped"), "output.log")))
      assert.deepInclude(yield* runtime.create(spec("prd-stopped", 1), { start: false }), { running: false, runtimeId: "" })
      assert.deepInclude((yield* runtime.list({ tenant, role: "production" })).find((info) => info.instanceId === "prd-stopped"), { running: false })
      assert.deepStrictEqual(yield* runtime.stats(key("prd-stopped")).pipe(Stream.runCollect), [])
      // Stopping and removing an instance without a process signals nothing (PID 0 would be this test's own group).
      yield* runtime.stop(key("prd-stopped"))
      yield* runtime.remove(key("prd-stopped"))
      assert.isUndefined(yield* runtime.inspect(key("prd-stopped")))
    }))

  it.effect("imports an archive into a stopped instance's state directory, exports it back, then starts it", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      yield* runtime.create(spec("prd-archive", yield* Effect.promise(freePort)), { start: false })
      const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 13) % 251)
      const archive = yield* archiveOf([
        { name: "./", type: "directory" },
        { name: "./a.txt", content: "alpha", mode: 0o600 },
        { name: "./sub/", type: "directory" },
        { name: "./sub/deep/big.bin", content: big },
        { name: "./sub/link", type: "symlink", linkname: "../a.txt" },
        { name: "./sub/hard", type: "link", linkname: "./a.txt" }
      ])
      yield* runtime.importState(key("prd-archive"), statePaths[1]!, Stream.make(archive).pipe(Stream.rechunk(4096)))
      const dir = stateDir("prd-archive", 1)
      assert.strictEqual(readFileSync(join(dir, "a.txt"), "utf8"), "alpha")
      assert.strictEqual(lstatSync(join(dir, "a.txt")).mode & 0o777, 0o600)
      assert.strictEqual(readlinkSync(join(dir, "sub", "link")), "../a.txt")
      assert.strictEqual(lstatSync(join(dir, "sub", "hard")).ino, lstatSync(join(dir, "a.txt")).ino)

      const listed = yield* listArchive(runtime.exportState(key("prd-archive"), statePaths[1]!))
      // Directories and regular files only, named like `docker cp <path>/. -` names them; symlinks are not kept.
      assert.deepStrictEqual(listed.map((entry) => entry.name), ["./", "./a.txt", "./sub/", "./sub/deep/", "./sub/deep/big.bin", "./sub/hard"])
      assert.deepStrictEqual(filesOf(listed), { "a.txt": sha256("alpha"), "sub/deep/big.bin": sha256(big), "sub/hard": sha256("alpha") })
      assert.deepStrictEqual(filesOf(yield* listArchive(runtime.exportState(key("prd-archive"), statePaths[0]!))), {})

      const started = yield* runtime.start(key("prd-archive"))
      assert.isTrue(started.running)
      const environ = readFileSync(`/proc/${started.runtimeId}/environ`, "utf8").split("\0")
      assert.include(environ, `UMBRA_STATE_PATHS=${stateDir("prd-archive", 0)},${dir}`)
      assert.strictEqual((yield* runtime.start(key("prd-archive"))).runtimeId, started.runtimeId)
      assert.strictEqual(readFileSync(join(dir, "a.txt"), "utf8"), "alpha")
      yield* runtime.remove(key("prd-archive"))
    }))

  it.effect("a create that asks to start starts an instance created stopped", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const port = yield* Effect.promise(freePort)
      yield* runtime.create(spec("prd-retry", port), { start: false })
      const started = yield* runtime.create(spec("prd-retry", port))
      assert.isTrue(started.running)
      assert.isAbove(Number(started.runtimeId), 0)
      yield* runtime.remove(key("prd-retry"))
    }))

  it.effect("refuses unknown state paths and entries that would land outside the directory", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      yield* runtime.create(spec("prd-refuse", yield* Effect.promise(freePort)), { start: false })
      const unknown = yield* Stream.runDrain(runtime.exportState(key("prd-refuse"), "/etc")).pipe(Effect.flip)
      assert.include(unknown.message, "not a state path")
      const escape = yield* runtime
        .importState(key("prd-refuse"), statePaths[0]!, Stream.make(yield* archiveOf([{ name: "../../escaped.txt", content: "x" }])))
        .pipe(Effect.flip)
      assert.include(escape.message, "escaped.txt")
      assert.isFalse(existsSync(join(instanceDir(dataDir, tenant, "prd-refuse"), "escaped.txt")))
      yield* runtime.remove(key("prd-refuse"))
    }))
})
