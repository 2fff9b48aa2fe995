import { existsSync } from "node:fs"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { agentImage } from "../../infra/images/imageNames.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import type { InstanceSpec } from "../../src/instanceRuntime.ts"
import { crossTenantAttack } from "../support/crossTenant.ts"
import { alive } from "../support/processAlive.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"

const { tenant, dataDir, testLayer } = processRuntimeFixture("po", 2_000)
const other = `${tenant}-b`

const owned: InstanceSpec = {
  tenant,
  clientId: "c1",
  instanceId: "shd-x",
  role: "shadow",
  image: agentImage,
  env: { UMBRA_HEARTBEAT_MS: "1000" },
  statePaths: ["/var/lib/umbra/state"],
  cpuMillis: 500,
  memoryMiB: 128,
  network: defaultNetwork
}

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("process runtime ownership", (it) => {
  it.effect("another tenant's operations on an instance id never reach the owner's process or state directory", () =>
    Effect.gen(function* () {
      const before = yield* crossTenantAttack(owned, other)
      assert.isTrue(alive(Number(before.runtimeId)), "the owner's agent still runs")
      assert.isTrue(existsSync(join(instanceDir(dataDir, tenant, "shd-x"), "state", "0", "owned.txt")))
      assert.isFalse(existsSync(instanceDir(dataDir, other, "shd-x")), "the other tenant's instance went with its own directory")
    }))
})
