import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { workloadUser } from "../../infra/process/workloadUser.ts"
import { InstanceRuntime, instanceKey } from "../../src/instanceRuntime.ts"
import { eventually } from "../support/eventually.ts"
import { followHeartbeats } from "../support/heartbeatArrivals.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"
import { childrenOf, commandLineOf, threadNices, tryRaise } from "../support/threadPriorities.ts"

const { tenant, testLayer } = processRuntimeFixture("wp", 2_000)

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("the workload's priority on the process runtime", (it) => {
  it.effect("the agent starts the workload at nice 19 on every thread, its heartbeats say warming until ready, and the workload's user cannot raise it back", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const arrivals = yield* followHeartbeats(yield* NatsConnection, tenant)
      const port = yield* Effect.promise(freePort)
      const info = yield* runtime.create({
        tenant,
        clientId: "c1",
        instanceId: "shd-nice",
        role: "shadow",
        image: sampleWorkloadImage,
        env: { PORT: String(port), UMBRA_READY_URL: `http://127.0.0.1:${port}/healthz`, UMBRA_HEARTBEAT_MS: "200", SAMPLE_WARM_CPU_MS: "500" },
        statePaths: ["/var/lib/umbra/state"],
        cpuMillis: 500,
        memoryMiB: 256,
        network: { subnets: [], securityGroups: [], egress: false }
      })
      const beats = arrivals.pipe(Effect.map((all) => all.map((arrival) => arrival.heartbeat)))
      yield* eventually(beats.pipe(Effect.map((all) => all.some((beat) => beat.ready))), 60_000, "a ready heartbeat")
      const seen = yield* beats
      const firstReady = seen.findIndex((beat) => beat.ready)
      assert.isAbove(firstReady, 0, "heartbeats before the workload was ready")
      assert.isTrue(seen.slice(0, firstReady).every((beat) => beat.warming === true))
      assert.isTrue(seen.slice(firstReady).every((beat) => beat.warming === false))

      const agent = Number(info.runtimeId)
      const [workload] = childrenOf(agent)
      assert.include(commandLineOf(workload!), "sampleWorkload/server.ts")
      assert.isTrue(threadNices(agent).every((nice) => nice === 0), "the agent at nice 0")
      // The warm-up's pool threads were started after the workload's priority was lowered, and inherit it.
      const nices = threadNices(workload!)
      assert.isTrue(nices.every((nice) => nice === 19), `every workload thread at nice 19: ${nices.join(" ")}`)
      // As the user workloads run as (nobody, under a root Umbra; else Umbra's own, already unprivileged).
      const user = yield* workloadUser("nobody")
      const raised = yield* tryRaise([process.execPath], workload!, user === undefined ? {} : { uid: user.uid, gid: user.gid })
      assert.strictEqual(raised, "EACCES")
      yield* runtime.remove(instanceKey(tenant, "shd-nice"))
    }))
})
