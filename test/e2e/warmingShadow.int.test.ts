// @module-tag docker
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { defaultPhiAccrualConfig } from "../../domain/instance/phiAccrual.ts"
import { imagePaths } from "../../infra/images/imageContext.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { followHeartbeats, heartbeatGaps, sendingGaps } from "../support/heartbeatArrivals.ts"
import {
  containersOf,
  countOf,
  docker,
  orchestratedControlPlaneLayer,
  shadowOf,
  shadowTestSettings,
  sharedTemplate,
  streamTypes,
  testTenant
} from "../support/shadowHarness.ts"
import { childrenOf, commandLineOf, pidInNamespace, threadNices, tryRaise } from "../support/threadPriorities.ts"

const tenant = testTenant("wm")

/**
 * A warm-up of 4 s of CPU on 64 threads (a pool sized for a big host's cores, not for its quota): at a basic
 * shadow's 125 mCPU it keeps the whole quota busy for over half a minute, and without its lower priority the
 * agent gets a 65th of it. (Node's pool takes UV_THREADPOOL_SIZE from the container, the agent's as well: two
 * pools of 128 threads would not fit the container's PID limit of 256.)
 */
const warming = { ...sharedTemplate, settings: { ...sharedTemplate.settings, SAMPLE_WARM_CPU_MS: "4000", UV_THREADPOOL_SIZE: "64" } }

// The scaling engine kept out of the way: fed the warm-up's telemetry (the whole quota in use) it resizes the
// shadow, which would change the quota this test is about.
const controlPlane = orchestratedControlPlaneLayer(tenant, "docker", shadowTestSettings, { scalingIntervalMs: 600_000 })

layer(controlPlane, { excludeTestServices: true, timeout: "300 seconds" })("a shadow warming within its quota (Docker)", (it) => {
  let instanceId = ""

  it.effect("a basic shadow whose warm-up keeps its quota busy beats on time, says it is warming, is never lost, and turns ready", () =>
    Effect.gen(function* () {
      const arrivals = yield* followHeartbeats(yield* NatsConnection, tenant)
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c1", tier: "basic", template: warming })).ok)
      yield* eventually(shadowOf(tenant, "c1").pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
      instanceId = (yield* shadowOf(tenant, "c1"))!
      const stream = `instance-${tenant}.${instanceId}`
      const settled = streamTypes(stream).pipe(Effect.map((types) => types.includes("InstanceReady") || types.includes("HeartbeatLost")))
      yield* eventually(settled, 180_000, "InstanceReady or HeartbeatLost")
      const mine = (yield* arrivals).filter((arrival) => arrival.heartbeat.instanceId === instanceId)
      const beats = mine.map((arrival) => arrival.heartbeat)
      const firstReady = beats.findIndex((beat) => beat.ready)
      yield* Effect.logInfo("heartbeats of the warming shadow").pipe(Effect.annotateLogs({
        beats: beats.length,
        warming: beats.filter((beat) => beat.warming === true).length,
        longestSendingGapsMs: sendingGaps(mine).slice(0, 5),
        longestArrivalGapsMs: heartbeatGaps(mine).slice(0, 5)
      }))
      const types = yield* streamTypes(stream)
      assert.strictEqual(countOf(types, "HeartbeatLost"), 0, types.join(", "))
      assert.include(types, "InstanceReady")
      // basic: 500 mCPU expected; the shadow gets a quarter.
      const [container] = yield* containersOf(tenant, [`umbra.instance=${instanceId}`])
      const inspected = yield* Effect.promise(() => docker.getContainer(container!.Id).inspect())
      assert.strictEqual(inspected.HostConfig.NanoCpus, 125_000_000)
      // The warm-up lasted many heartbeat intervals, and every beat until the first ready one said so.
      assert.isAtLeast(firstReady, 10)
      assert.isTrue(beats.slice(0, firstReady).every((beat) => beat.warming === true && !beat.ready))
      assert.isTrue(beats.slice(firstReady).every((beat) => beat.warming === false))
      // The agent fell silent for no longer than the watchdog's shortest deadline, whatever φ made of the
      // arrivals before it. Timed by when it sent: the arrivals here also carry this process's own pauses
      // (it runs the control plane and the test, on a machine running other test files).
      const { deadlineIntervals, maxJitter } = defaultPhiAccrualConfig
      assert.isBelow(sendingGaps(mine)[0]!, deadlineIntervals * shadowTestSettings.heartbeatMs * (1 - maxJitter))
    }), 240_000)

  it.effect("its workload runs below the agent's priority on every thread, and cannot raise it back inside its container", () =>
    Effect.gen(function* () {
      const [container] = yield* containersOf(tenant, [`umbra.instance=${instanceId}`])
      const inspected = yield* Effect.promise(() => docker.getContainer(container!.Id).inspect())
      // The container's init (tini) starts the agent, which starts the workload.
      const [agent] = childrenOf(inspected.State.Pid)
      const [workload] = childrenOf(agent!)
      assert.include(commandLineOf(workload!), "sampleWorkload/server.ts")
      assert.isTrue(threadNices(agent!).every((nice) => nice === 0), "the agent at nice 0")
      const nices = threadNices(workload!)
      assert.isAbove(nices.length, 64, "the warm-up's pool threads")
      assert.isTrue(nices.every((nice) => nice === 19), `every workload thread at nice 19: ${nices.join(" ")}`)
      // Inside the container (no capabilities, RLIMIT_NICE 0), as the workload would try it.
      assert.strictEqual(yield* tryRaise(["docker", "exec", container!.Id, imagePaths.node], pidInNamespace(workload!)), "EACCES")
    }))
})
