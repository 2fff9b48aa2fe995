import { existsSync } from "node:fs"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { crossTenantAttack, ownedInstance } from "../support/crossTenant.ts"
import { alive } from "../support/processAlive.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"

const { tenant, dataDir, testLayer } = processRuntimeFixture("po", 2_000)
const other = `${tenant}-b`

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("process runtime ownership", (it) => {
  it.effect("another tenant's operations on an instance id never reach the owner's process or state directory", () =>
    Effect.gen(function* () {
      const before = yield* crossTenantAttack(ownedInstance(tenant), other)
      assert.isTrue(alive(Number(before.runtimeId)), "the owner's agent still runs")
      assert.isTrue(existsSync(join(instanceDir(dataDir, tenant, "shd-x"), "state", "0", "owned.txt")))
      assert.isFalse(existsSync(instanceDir(dataDir, other, "shd-x")), "the other tenant's instance went with its own directory")
    }))
})
