// @module-tag docker
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { layer as dockerRuntimeLayer } from "../../infra/docker/dockerRuntime.ts"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { layer as archiveTransferLayer } from "../../infra/stateTransfer/archiveTransfer.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { StateTransfer, type TransferRequest } from "../../src/stateTransfer.ts"
import { imagesLayer, testTenant } from "../support/shadowHarness.ts"
import { type ArchiveEntry, archiveOf, filesOf, listArchive, sha256 } from "../support/stateArchives.ts"

const tenant = testTenant("st")
const key = (instanceId: string) => instanceKey(tenant, instanceId)
const statePaths = ["/var/lib/umbra/state", "/var/cache/umbra"] as const

const testLayer = archiveTransferLayer().pipe(
  Layer.provideMerge(dockerRuntimeLayer({ stopTimeoutSeconds: 2 })),
  Layer.provideMerge(imagesLayer(tenant))
)

const spec = (instanceId: string, role: InstanceSpec["role"]): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role,
  image: sampleWorkloadImage,
  env: {},
  statePaths,
  cpuMillis: 500,
  memoryMiB: 256,
  network: defaultNetwork
})

/** Instances created stopped (none needs to run for its state to move), the first seeded with an archive per path. */
const stoppedInstances = (from: string, seeds: ReadonlyArray<ReadonlyArray<ArchiveEntry>>, ...targets: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    yield* runtime.create(spec(from, "shadow"), { start: false })
    for (const [index, seed] of seeds.entries()) yield* runtime.importState(key(from), statePaths[index]!, Stream.make(yield* archiveOf(seed)))
    for (const target of targets) yield* runtime.create(spec(target, "production"), { start: false })
  })

const exportedFiles = (instanceId: string, path: string) =>
  InstanceRuntime.use((runtime) => listArchive(runtime.exportState(key(instanceId), path))).pipe(Effect.map(filesOf))

const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) % 253)

const seeds: ReadonlyArray<ReadonlyArray<ArchiveEntry>> = [
  [
    { name: "./", type: "directory" },
    { name: "./instance-id", content: "shd-src" },
    { name: "./config.json", content: '{"warm":true}' },
    { name: "./cache/", type: "directory" },
    { name: "./cache/models/", type: "directory" },
    { name: "./cache/models/weights.bin", content: big },
    { name: "./cache/current", type: "symlink", linkname: "models/weights.bin" }
  ],
  [
    { name: "./", type: "directory" },
    { name: "./index/", type: "directory" },
    { name: "./index/a.idx", content: "a".repeat(10_000) }
  ]
]

const request = (from: string, to: string, maxBytes = 64 * 1024 * 1024): TransferRequest => ({
  tenant,
  fromInstanceId: from,
  toInstanceId: to,
  paths: statePaths,
  identityFiles: ["instance-id"],
  maxBytes
})

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("state transfer between docker instances", (it) => {
  it.effect("copies every state path but the identity files into a stopped target, file for file", () =>
    Effect.gen(function* () {
      yield* stoppedInstances("shd-src", seeds, "prd-dst")
      const report = yield* (yield* StateTransfer).transfer(request("shd-src", "prd-dst"))
      const expected = [
        { "config.json": sha256('{"warm":true}'), "cache/models/weights.bin": sha256(big) },
        { "index/a.idx": sha256("a".repeat(10_000)) }
      ]
      for (const [index, path] of statePaths.entries()) {
        assert.deepStrictEqual(yield* exportedFiles("prd-dst", path), expected[index])
        assert.deepStrictEqual(Object.fromEntries(report.paths[index]!.files.map((file) => [file.path, file.sha256])), expected[index])
      }
      assert.strictEqual(report.files, 3)
      assert.strictEqual(report.bytes, big.length + 13 + 10_000)
      assert.deepStrictEqual(report.reset, ["/var/lib/umbra/state/instance-id"])
      assert.match(report.checksum, /^[0-9a-f]{64}$/)
      const link = (yield* InstanceRuntime.use((runtime) => listArchive(runtime.exportState(key("prd-dst"), statePaths[0])))).find((entry) => entry.name === "./cache/current")
      assert.strictEqual(link?.linkname, "models/weights.bin")
      assert.isFalse((yield* InstanceRuntime.use((runtime) => runtime.inspect(key("prd-dst"))))!.running)
    }))

  it.effect("refuses a state over the size limit and leaves the target untouched", () =>
    Effect.gen(function* () {
      yield* InstanceRuntime.use((runtime) => runtime.create(spec("prd-small", "production"), { start: false }))
      const error = yield* (yield* StateTransfer).transfer(request("shd-src", "prd-small", 1024 * 1024)).pipe(Effect.flip)
      assert.strictEqual(error.reason, "too-large")
      for (const path of statePaths) assert.deepStrictEqual(yield* exportedFiles("prd-small", path), {})
    }))

  it.effect("refuses a source holding a symlink out of its state path, writing nothing to the target", () =>
    Effect.gen(function* () {
      yield* stoppedInstances("shd-evil", [seeds[0]!, [...seeds[1]!, { name: "./index/passwd", type: "symlink", linkname: "/etc/passwd" }]], "prd-evil")
      const error = yield* (yield* StateTransfer).transfer(request("shd-evil", "prd-evil")).pipe(Effect.flip)
      assert.strictEqual(error.reason, "unsafe-entry")
      assert.include(error.message, "./index/passwd")
      for (const path of statePaths) assert.deepStrictEqual(yield* exportedFiles("prd-evil", path), {})
    }))
})
