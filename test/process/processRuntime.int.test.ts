import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { alive } from "../support/processAlive.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"
import { collectSignals, expectControlReplies, expectHeartbeatsAndTelemetry, expectReconnect } from "../support/instanceSignals.ts"

const { tenant, dataDir, runtimeLayer, testLayer } = processRuntimeFixture("pt", 5_000)
const key = (instanceId: string) => instanceKey(tenant, instanceId)

const spec = (instanceId: string, port: number, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "shadow",
  image: sampleWorkloadImage,
  env: { PORT: String(port), UMBRA_READY_URL: `http://127.0.0.1:${port}/healthz`, UMBRA_HEARTBEAT_MS: "200", UMBRA_TELEMETRY_MS: "500" },
  statePaths: ["/var/lib/umbra/state"],
  cpuMillis: 500,
  memoryMiB: 256,
  network: { subnets: [], securityGroups: [], egress: false },
  ...overrides
})

layer(testLayer, { excludeTestServices: true, timeout: "170 seconds" })("process runtime", (it) => {
  it.effect("starts the agent and the workload as a process group with the spec's environment and a heap limit", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const info = yield* runtime.create(spec("shd-proc", yield* Effect.promise(freePort)))
      assert.deepInclude(info, { tenant, instanceId: "shd-proc", role: "shadow", cpuMillis: 500, memoryMiB: 256, running: true })
      const environ = readFileSync(`/proc/${info.runtimeId}/environ`, "utf8").split("\0")
      assert.include(environ, "NODE_OPTIONS=--max-old-space-size=256")
      assert.include(environ, `UMBRA_TENANT=${tenant}`)
      assert.include(environ, `UMBRA_STATE_PATHS=${join(instanceDir(dataDir, tenant, "shd-proc"), "state", "0")}`)
    }))

  it.effect("resizes by recording the limits (same process), lists, and is found again by a restarted runtime", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const before = (yield* runtime.inspect(key("shd-proc")))!
      const resized = yield* runtime.resize(key("shd-proc"), { cpuMillis: 1_000, memoryMiB: 512 })
      assert.deepInclude(resized, { runtimeId: before.runtimeId, cpuMillis: 1_000, memoryMiB: 512, running: true })
      const production = yield* runtime.create({ ...spec("prd-proc", yield* Effect.promise(freePort)), role: "production", image: "umbra/agent:latest" })
      assert.deepStrictEqual((yield* runtime.list({ tenant, role: "production" })).map((found) => found.instanceId), ["prd-proc"])
      const server = yield* NatsTestServer
      const restarted = yield* InstanceRuntime.pipe(Effect.provide(runtimeLayer(server.url)))
      const found = yield* restarted.list({ tenant })
      assert.sameMembers(found.map((info) => `${info.instanceId}:${info.runtimeId}:${info.running}`), [
        `shd-proc:${before.runtimeId}:true`,
        `prd-proc:${production.runtimeId}:true`
      ])
      const [usage] = yield* runtime.stats(key("shd-proc")).pipe(Stream.take(1), Stream.runCollect)
      assert.isAbove(usage!.memBytes, 0)
      yield* runtime.stop(key("prd-proc"))
      assert.isFalse((yield* runtime.inspect(key("prd-proc")))!.running)
      yield* runtime.remove(key("prd-proc"))
      yield* runtime.remove(key("prd-proc"))
      assert.isUndefined(yield* runtime.inspect(key("prd-proc")))
    }))

  it.effect("runs the agent: heartbeats, telemetry, control replies, reconnects; remove kills the group", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const server = yield* NatsTestServer
      const nc = yield* NatsConnection
      const signals = yield* collectSignals(nc, tenant, "shd-proc")
      yield* expectHeartbeatsAndTelemetry(signals, "shd-proc")
      yield* expectReconnect(server, signals)
      yield* expectControlReplies(nc, signals, tenant, "shd-proc")
      const pid = Number((yield* runtime.inspect(key("shd-proc")))!.runtimeId)
      yield* runtime.remove(key("shd-proc"))
      assert.isFalse(alive(pid))
      assert.isUndefined(yield* runtime.inspect(key("shd-proc")))
    }).pipe(Effect.scoped))
})
