import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { readFile, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect, Schedule, Stream } from "effect"
import { NatsTestServer } from "../harness/natsServer.ts"
import { layer as processRuntimeLayer } from "../../infra/process/processRuntime.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"
import { archiveOf } from "../support/stateArchives.ts"

const { tenant, dataDir, testLayer } = processRuntimeFixture("wu", 2_000)

const spec = (instanceId: string, overrides: Partial<InstanceSpec>): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "shadow",
  image: "umbra/sample-workload:latest",
  env: {},
  statePaths: ["/var/lib/app"],
  cpuMillis: 100,
  memoryMiB: 128,
  network: { subnets: [], securityGroups: [], egress: false },
  ...overrides
})

/** Who a workload should be: `nobody` when the tests run as root, else the tests' own user. */
const expectedUid = process.getuid?.() === 0 ? 65534 : process.getuid?.()

layer(testLayer, { excludeTestServices: true, timeout: "60 seconds" })("the process runtime's workloads", (it) => {
  it.effect("are refused with a command of their own or an image other than Umbra's, unless trusted", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const command = yield* runtime.create(spec("shd-cmd", { command: ["/usr/bin/id"] })).pipe(Effect.flip)
      assert.include(command.message, "UMBRA_PROCESS_RUNTIME_TRUSTED=1")
      const image = yield* runtime.create(spec("shd-img", { image: "alpine:3" })).pipe(Effect.flip)
      assert.include(image.message, "UMBRA_PROCESS_RUNTIME_TRUSTED=1")
    }))

  it.effect("run as an unprivileged user, in directories that user owns", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const trusted = processRuntimeLayer({ dataDir, natsUrl: server.url, stopGraceMs: 2_000, trusted: true })
      const runtime = yield* InstanceRuntime.pipe(Effect.provide(trusted))
      yield* runtime.create(spec("shd-id", { command: ["/usr/bin/id", "-u"] }))
      const dir = instanceDir(dataDir, tenant, "shd-id")
      // `id -u` prints the workload's uid into the instance's log, once the agent has started it.
      const printed = yield* Effect.promise(() => readFile(join(dir, "output.log"), "utf8").catch(() => "")).pipe(
        Effect.map((log) => log.split("\n").find((line) => /^\d+$/.test(line.trim()))),
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (line) => line !== undefined, times: 300 })
      )
      assert.strictEqual(Number(printed), expectedUid)
      for (const owned of ["work", "state/0"]) assert.strictEqual((yield* Effect.promise(() => stat(join(dir, owned)))).uid, expectedUid, owned)
    }))

  it.effect("own the state Umbra imported before they start, a world-writable directory keeping its mode", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const key = instanceKey(tenant, "shd-import")
      yield* runtime.create(spec("shd-import", {}), { start: false })
      const archive = yield* archiveOf([
        { name: "./", type: "directory", mode: 0o755 },
        { name: "./open/", type: "directory", mode: 0o777 },
        { name: "./open/cache.bin", content: "warm" },
        { name: "./link", type: "symlink", linkname: "open/cache.bin" }
      ])
      yield* runtime.importState(key, "/var/lib/app", Stream.make(archive))
      yield* runtime.start(key)
      const state = join(instanceDir(dataDir, tenant, "shd-import"), "state", "0")
      for (const owned of ["open", "open/cache.bin"]) assert.strictEqual((yield* Effect.promise(() => stat(join(state, owned)))).uid, expectedUid, owned)
      assert.strictEqual((yield* Effect.promise(() => stat(join(state, "open")))).mode & 0o777, 0o777)
    }))

  it.effect.skipIf(process.getuid?.() !== 0)("refuse to start from a data directory the workload user cannot reach", () =>
    Effect.gen(function* () {
      const closed = mkdtempSync(join(tmpdir(), "umbra-closed-"))
      const error = yield* InstanceRuntime.pipe(
        Effect.provide(processRuntimeLayer({ dataDir: join(closed, "data") })),
        Effect.flip,
        Effect.ensuring(Effect.sync(() => rmSync(closed, { recursive: true, force: true })))
      )
      assert.include(error.message, `${closed} has no o+x`)
    }))

  it.effect.skipIf(process.getuid?.() !== 0)("export only what the workload user owns while the workload runs", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const runtime = yield* InstanceRuntime.pipe(
        Effect.provide(processRuntimeLayer({ dataDir, natsUrl: server.url, stopGraceMs: 2_000, trusted: true }))
      )
      const key = instanceKey(tenant, "shd-export")
      yield* runtime.create(spec("shd-export", { command: ["/bin/sleep", "120"] }))
      const state = join(instanceDir(dataDir, tenant, "shd-export"), "state", "0")
      writeFileSync(join(state, "own.txt"), "the workload's")
      chownSync(join(state, "own.txt"), 65534, 65534)
      yield* Stream.runDrain(runtime.exportState(key, "/var/lib/app"))
      // What a directory swapped for a link would show the export: a file of someone else.
      writeFileSync(join(state, "host.txt"), "root's")
      const error = yield* Stream.runDrain(runtime.exportState(key, "/var/lib/app")).pipe(Effect.flip)
      assert.include(error.message, "host.txt belongs to uid 0")
    }))
})
