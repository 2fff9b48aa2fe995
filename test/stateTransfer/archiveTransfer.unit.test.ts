import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { layer as archiveTransferLayer } from "../../infra/stateTransfer/archiveTransfer.ts"
import { stateChecksum } from "../../infra/stateTransfer/transferReport.ts"
import { InstanceRuntime, type InstanceRuntimeShape, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { StateTransfer, type TransferRequest } from "../../src/stateTransfer.ts"
import { type FakeRuntime, fakeRuntimeLayer, makeFakeRuntime, stateKey } from "../support/fakeRuntime.ts"
import { type ArchiveEntry, archiveOf, sha256 } from "../support/stateArchives.ts"

const paths = ["/var/lib/umbra/state", "/var/cache/umbra"] as const

const spec = (instanceId: string, role: InstanceSpec["role"]): InstanceSpec => ({
  tenant: "acme",
  clientId: "c1",
  instanceId,
  role,
  image: "umbra/sample-workload:latest",
  env: {},
  statePaths: paths,
  cpuMillis: 500,
  memoryMiB: 256,
  network: defaultNetwork
})

const request: TransferRequest = { tenant: "acme", fromInstanceId: "shd-1", toInstanceId: "prd-1", paths, identityFiles: ["instance-id"], maxBytes: 1_000_000 }

const state: ReadonlyArray<ArchiveEntry> = [
  { name: "./", type: "directory" },
  { name: "./cache.bin", content: "warm cache" },
  { name: "./instance-id", content: "shd-1" },
  { name: "./sub/", type: "directory" },
  { name: "./sub/config.json", content: "{}" }
]

/** A shadow running with its state seeded, and a production instance created stopped, on a fake runtime. */
const withInstances = (fake: FakeRuntime, first: ReadonlyArray<ArchiveEntry>, second: ReadonlyArray<ArchiveEntry>) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    yield* runtime.create(spec("shd-1", "shadow"))
    yield* runtime.create(spec("prd-1", "production"), { start: false })
    fake.seedState("shd-1", paths[0], yield* archiveOf(first))
    fake.seedState("shd-1", paths[1], yield* archiveOf(second))
  })

/** The transfer over a fake runtime (optionally wrapped), spooling into a directory the test then inspects. */
const transferLayer = (fake: FakeRuntime, spoolDir: string, wrap: (runtime: InstanceRuntimeShape) => InstanceRuntimeShape = (r) => r) => {
  const runtime = Layer.effect(InstanceRuntime, Effect.map(InstanceRuntime, wrap)).pipe(Layer.provide(fakeRuntimeLayer(fake)))
  return archiveTransferLayer({ spoolDir }).pipe(Layer.provideMerge(runtime))
}

const withSpool = <A, E>(body: (spoolDir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-spool-test-"))),
    body,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("archive state transfer", () => {
  it.effect("copies every state path but the identity files, and reports what it copied", () =>
    withSpool((spoolDir) => {
      const fake = makeFakeRuntime()
      return Effect.gen(function* () {
        yield* withInstances(fake, state, [{ name: "./", type: "directory" }, { name: "./index.db", content: "rows" }])
        const report = yield* (yield* StateTransfer).transfer(request)
        assert.strictEqual(report.bytes, "warm cache".length + 2 + 4)
        assert.strictEqual(report.files, 3)
        assert.deepStrictEqual(report.reset, ["/var/lib/umbra/state/instance-id"])
        assert.deepStrictEqual(report.paths, [
          {
            path: paths[0],
            files: [
              { path: "cache.bin", bytes: 10, sha256: sha256("warm cache") },
              { path: "sub/config.json", bytes: 2, sha256: sha256("{}") }
            ]
          },
          { path: paths[1], files: [{ path: "index.db", bytes: 4, sha256: sha256("rows") }] }
        ])
        assert.strictEqual(report.checksum, stateChecksum(report.paths))
        assert.deepStrictEqual(fake.imported, paths.map((path) => ({ instanceId: "prd-1", path })))
        assert.isFalse(fake.instances.get("prd-1")!.running)
        assert.deepStrictEqual(readdirSync(spoolDir), [])
      }).pipe(Effect.provide(transferLayer(fake, spoolDir)))
    }))

  it.effect("refuses a malicious entry after good ones, in the second path, before writing anything to the target", () =>
    withSpool((spoolDir) => {
      const fake = makeFakeRuntime()
      return Effect.gen(function* () {
        yield* withInstances(fake, state, [
          { name: "./", type: "directory" },
          { name: "./index.db", content: "rows" },
          { name: "./escape", type: "symlink", linkname: "../../../etc/shadow" }
        ])
        const error = yield* (yield* StateTransfer).transfer(request).pipe(Effect.flip)
        assert.strictEqual(error.reason, "unsafe-entry")
        assert.include(error.message, "./escape")
        assert.deepStrictEqual(fake.imported, [])
        assert.isFalse(fake.states.has(stateKey("prd-1", paths[0])))
        assert.deepStrictEqual(readdirSync(spoolDir), [])
      }).pipe(Effect.provide(transferLayer(fake, spoolDir)))
    }))

  it.effect("refuses a state over the size limit across paths, writing nothing", () =>
    withSpool((spoolDir) => {
      const fake = makeFakeRuntime()
      return Effect.gen(function* () {
        yield* withInstances(fake, state, [{ name: "./index.db", content: "x".repeat(100) }])
        const error = yield* (yield* StateTransfer).transfer({ ...request, maxBytes: 100 }).pipe(Effect.flip)
        assert.strictEqual(error.reason, "too-large")
        assert.deepStrictEqual(fake.imported, [])
      }).pipe(Effect.provide(transferLayer(fake, spoolDir)))
    }))

  it.effect("fails with checksum-mismatch when the target holds something else on arrival", () =>
    withSpool((spoolDir) => {
      const fake = makeFakeRuntime()
      const tampered = archiveOf([{ name: "./cache.bin", content: "cold cache" }, { name: "./sub/config.json", content: "{}" }, { name: "./extra", content: "?" }])
      const tampering = (runtime: InstanceRuntimeShape) =>
        InstanceRuntime.of({
          ...runtime,
          exportState: (key, path) =>
            key.instanceId === "prd-1" && path === paths[0] ? Stream.unwrap(Effect.map(tampered, (bytes) => Stream.make(bytes))) : runtime.exportState(key, path)
        })
      return Effect.gen(function* () {
        yield* withInstances(fake, state, [{ name: "./index.db", content: "rows" }])
        const error = yield* (yield* StateTransfer).transfer(request).pipe(Effect.flip)
        assert.strictEqual(error.reason, "checksum-mismatch")
        assert.include(error.message, "cache.bin has sha256")
        assert.include(error.message, "extra was not sent")
      }).pipe(Effect.provide(transferLayer(fake, spoolDir, tampering)))
    }))

  it.effect("maps a runtime failure to reason runtime", () =>
    withSpool((spoolDir) => {
      const fake = makeFakeRuntime()
      return Effect.gen(function* () {
        const error = yield* (yield* StateTransfer).transfer(request).pipe(Effect.flip)
        assert.strictEqual(error.reason, "runtime")
        assert.include(error.message, "shd-1")
      }).pipe(Effect.provide(transferLayer(fake, spoolDir)))
    }))
})
