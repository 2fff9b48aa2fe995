import { assert, layer } from "@effect/vitest"
import { describe } from "vitest"
import { runtimeTags } from "../setup/testGroups.ts"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { buildImages } from "../../infra/images/imageBuild.ts"
import * as sqliteStore from "../../infra/eventStore/sqliteEventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { controlPlaneClientLayer, TestDataDir } from "../support/controlPlane.ts"
import { runKillScenario, scenarioTriggers } from "../support/killScenario.ts"
import { killSchedule } from "../support/killSchedule.ts"
import { addTallies, auditRun, emptyTally, summaryLine } from "../support/scenarioAudit.ts"
import { orchestratedServe, runtimeBesideServe } from "../support/serveProcess.ts"
import { cleanupTenant, testTenant } from "../support/shadowHarness.ts"

type Runtime = "docker" | "process"

/** `UMBRA_SIGKILL_SOAK=<n>` multiplies the kill points (a soak); `UMBRA_SIGKILL_SEED` replays a schedule. */
const soak = Number(process.env["UMBRA_SIGKILL_SOAK"] ?? "1")
const seed = Number(process.env["UMBRA_SIGKILL_SEED"] ?? Math.floor(Math.random() * 2 ** 31))
const killsPerRun = 5
const runsOf: Record<Runtime, number> = { process: Math.ceil(4 * soak), docker: Math.ceil(soak) }

/**
 * Short holds and no pool: a launch takes seconds, and a released shadow is terminated, not kept. What a kill
 * left half-handled comes back after 10 s rather than the default 30 (still longer than any handler here).
 */
const launchSettings = {
  UMBRA_LAUNCH_HOLD_MS: "300",
  UMBRA_POOL_SIZE: "0",
  UMBRA_ACK_WAIT_MS: "10000"
}

/** The test's own view of what `umbra serve` runs: the same runtime, the same SQLite store. */
const testLayer = (runtime: Runtime) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const dataDir = yield* TestDataDir
      const instances = runtimeBesideServe(runtime, server.url, dataDir)
      const images = runtime === "docker" ? Layer.effectDiscard(buildImages().pipe(Effect.orDie)) : Layer.empty
      return Layer.mergeAll(instances, sqliteStore.layerFile(join(dataDir, "events.db")), images)
    })
  ).pipe(Layer.provideMerge(controlPlaneClientLayer))

/** Removes what a run left (production, or anything a failure left), whatever the outcome. */
const removeTenant = (runtime: Runtime, tenant: string) =>
  InstanceRuntime.use((r) => r.list({ tenant }).pipe(Effect.flatMap(Effect.forEach((info) => r.remove(info))))).pipe(
    Effect.ignore,
    Effect.andThen(runtime === "docker" ? cleanupTenant(tenant) : Effect.void)
  )

for (const runtime of ["process", "docker"] as const) {
  describe(runtime, { tags: runtimeTags(runtime) }, () => layer(testLayer(runtime), { excludeTestServices: true, timeout: "900 seconds" })(`SIGKILL of umbra serve (${runtime})`, (it) => {
    it.effect(`${runsOf[runtime] * killsPerRun} kill points over connect, refine, launch, disconnect: nothing lost, duplicated or orphaned`, () =>
      Effect.gen(function* () {
        const server = yield* NatsTestServer
        const dataDir = yield* TestDataDir
        const schedule = killSchedule(seed + (runtime === "docker" ? 1 : 0), scenarioTriggers, runsOf[runtime], killsPerRun, 1_500)
        console.log(`sigkill (${runtime}): seed ${seed} (UMBRA_SIGKILL_SEED=${seed} replays it)`)
        let total = emptyTally
        const problems: Array<string> = []
        for (const [index, kills] of schedule.entries()) {
          const tenant = testTenant(runtime === "docker" ? "kd" : "kp")
          const start = orchestratedServe(runtime, server.url, dataDir, launchSettings)
          const startedAt = Date.now()
          const { tally, found } = yield* Effect.scoped(
            Effect.gen(function* () {
              const run = yield* runKillScenario(tenant, kills, start)
              for (const kill of run.kills) console.log(`sigkill (${runtime}) run ${index + 1}: killed ${kill}`)
              const ranMs = Date.now() - startedAt
              const audit = yield* auditRun(run, runtime)
              // Where a run spent its time: an audit that waits for what a kill left to a redelivery takes ack_wait (10 s).
              console.log(`sigkill (${runtime}) run ${index + 1}: the scenario took ${ranMs} ms, its audit ${Date.now() - startedAt - ranMs} ms`)
              return { tally: audit.tally, found: audit.problems.map((p) => `run ${index + 1} (${tenant}): ${p}`) }
            })
          ).pipe(Effect.ensuring(removeTenant(runtime, tenant)))
          total = addTallies(total, tally)
          problems.push(...found)
        }
        console.log(`sigkill (${runtime}) ${summaryLine(total)}`)
        assert.deepStrictEqual(problems, [])
        assert.deepInclude(total, { duplicates: 0, lost: 0, outOfOrder: 0, orphans: 0 })
        assert.strictEqual(total.commandsAcked, 4 * runsOf[runtime])
      }), 900_000)
  }))
}
