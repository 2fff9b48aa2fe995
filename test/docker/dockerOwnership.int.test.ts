// @module-tag docker
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { stateVolumeName } from "../../infra/docker/containerSettings.ts"
import { label } from "../../infra/docker/labels.ts"
import { layer as dockerRuntimeLayer } from "../../infra/docker/dockerRuntime.ts"
import { NatsTestServer, natsTestLayer } from "../harness/natsServer.ts"
import { crossTenantAttack, ownedInstance } from "../support/crossTenant.ts"
import { cleanupTenant, docker, imagesLayer, testTenant } from "../support/shadowHarness.ts"

const tenant = testTenant("do")
const other = `${tenant}-b`

const runtimeLayer = Layer.unwrap(Effect.map(NatsTestServer, (server) => dockerRuntimeLayer({ natsUrl: server.url, stopTimeoutSeconds: 2 })))
const testLayer = runtimeLayer.pipe(
  Layer.provideMerge(natsTestLayer),
  Layer.provideMerge(imagesLayer(tenant)),
  Layer.provideMerge(Layer.effectDiscard(Effect.addFinalizer(() => cleanupTenant(other))))
)

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("docker runtime ownership", (it) => {
  it.effect("another tenant's operations on an instance id never reach the owner's container or volume", () =>
    Effect.gen(function* () {
      const before = yield* crossTenantAttack(ownedInstance(tenant), other)
      const container = yield* Effect.promise(() => docker.getContainer(before.runtimeId).inspect())
      assert.isTrue(container.State.Running, "the owner's container still runs")
      const volume = yield* Effect.promise(() => docker.getVolume(stateVolumeName(tenant, "shd-x", 0)).inspect())
      assert.strictEqual(volume.Labels?.[label.tenant], tenant)
      const left = yield* Effect.promise(() => docker.listVolumes({ filters: { label: [`${label.tenant}=${other}`] } }))
      assert.deepStrictEqual(left.Volumes ?? [], [], "the other tenant's instance went with its own volume")
    }))
})
