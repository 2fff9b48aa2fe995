// @module-tag docker
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { layer as dockerRuntimeLayer } from "../../infra/docker/dockerRuntime.ts"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec, RuntimeFailed } from "../../src/instanceRuntime.ts"
import { docker, imagesLayer, testTenant } from "../support/shadowHarness.ts"
import { archiveOf, filesOf, listArchive, sha256 } from "../support/stateArchives.ts"

const tenant = testTenant("sa")
const key = (instanceId: string) => instanceKey(tenant, instanceId)
const statePath = "/var/lib/umbra/state"

const testLayer = dockerRuntimeLayer({ stopTimeoutSeconds: 2 }).pipe(Layer.provideMerge(imagesLayer(tenant)))

const spec = (instanceId: string, port: number): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "production",
  image: sampleWorkloadImage,
  env: { PORT: String(port), UMBRA_READY_URL: `http://127.0.0.1:${port}/healthz` },
  statePaths: [statePath],
  cpuMillis: 500,
  memoryMiB: 256,
  network: defaultNetwork
})

const containerState = (id: string) => Effect.promise(() => docker.getContainer(id).inspect()).pipe(Effect.map((found) => found.State.Status))

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("docker runtime state archives", (it) => {
  it.effect("creates an instance stopped, imports an archive into it and exports it back, then starts it", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const created = yield* runtime.create(spec("prd-archive", yield* Effect.promise(freePort)), { start: false })
      assert.isFalse(created.running)
      assert.strictEqual(yield* containerState(created.runtimeId), "created")
      const again = yield* runtime.create(spec("prd-archive", 1), { start: false })
      assert.deepInclude(again, { runtimeId: created.runtimeId, running: false })

      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251)
      yield* runtime.importState(
        key("prd-archive"),
        statePath,
        Stream.make(
          yield* archiveOf([
            { name: "./", type: "directory" },
            { name: "./a.txt", content: "alpha" },
            { name: "./sub/", type: "directory" },
            { name: "./sub/deep/", type: "directory" },
            { name: "./sub/deep/big.bin", content: big },
            { name: "./link", type: "symlink", linkname: "a.txt" }
          ])
        ).pipe(Stream.rechunk(1000))
      )
      assert.isFalse((yield* runtime.inspect(key("prd-archive")))!.running)
      const listed = yield* listArchive(runtime.exportState(key("prd-archive"), statePath))
      assert.includeMembers(listed.map((entry) => entry.name), ["./", "./a.txt", "./sub/", "./sub/deep/", "./sub/deep/big.bin", "./link"])
      assert.deepStrictEqual(filesOf(listed), { "a.txt": sha256("alpha"), "sub/deep/big.bin": sha256(big) })
      assert.strictEqual(listed.find((entry) => entry.name === "./link")?.linkname, "a.txt")

      const started = yield* runtime.start(key("prd-archive"))
      assert.isTrue(started.running)
      assert.strictEqual(yield* containerState(created.runtimeId), "running")
      assert.isTrue((yield* runtime.start(key("prd-archive"))).running)
      assert.deepStrictEqual(filesOf(yield* listArchive(runtime.exportState(key("prd-archive"), statePath))), filesOf(listed))
      yield* runtime.remove(key("prd-archive"))
    }))

  it.effect("a retried create of a stopped instance starts it when asked to", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const port = yield* Effect.promise(freePort)
      const created = yield* runtime.create(spec("prd-retry", port), { start: false })
      const retried = yield* runtime.create(spec("prd-retry", port))
      assert.deepInclude(retried, { runtimeId: created.runtimeId, running: true })
      yield* runtime.remove(key("prd-retry"))
    }))

  it.effect("refuses paths that are not state paths, and fails an import with its archive's own error", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      yield* runtime.create(spec("prd-refuse", yield* Effect.promise(freePort)), { start: false })
      const outside = yield* Stream.runDrain(runtime.exportState(key("prd-refuse"), "/etc")).pipe(Effect.flip)
      assert.include(outside.message, "not a state path")
      const broken = new RuntimeFailed({ instanceId: "shd-x", message: "the source went away" })
      const archive = yield* archiveOf([{ name: "./a.txt", content: "a".repeat(100_000) }])
      const failed = yield* runtime
        .importState(key("prd-refuse"), statePath, Stream.make(archive.subarray(0, 50_000)).pipe(Stream.concat(Stream.fail(broken))))
        .pipe(Effect.flip)
      assert.strictEqual(failed, broken)
      yield* runtime.remove(key("prd-refuse"))
    }))
})
