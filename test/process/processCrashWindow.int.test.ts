import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { agentImage } from "../../infra/images/imageNames.ts"
import { instanceDir, readRecord, writeRecord } from "../../infra/process/processRegistry.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { alive } from "../support/processAlive.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"

const { tenant, dataDir, testLayer } = processRuntimeFixture("pw", 2_000)
const key = (instanceId: string) => instanceKey(tenant, instanceId)

const spec = (instanceId: string): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "production",
  image: agentImage,
  env: {},
  statePaths: [],
  cpuMillis: 500,
  memoryMiB: 128,
  network: defaultNetwork
})

/** The live processes whose environment names the instance (a zombie's environment is empty). */
const processesOf = (instanceId: string) =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const environ = readFileSync(`/proc/${name}/environ`, "utf8").split("\0")
      return environ.includes(`UMBRA_TENANT=${tenant}`) && environ.includes(`UMBRA_INSTANCE_ID=${instanceId}`) ? [Number(name)] : []
    } catch {
      return []
    }
  })

const spawned: Array<ChildProcess> = []
const killSpawned = Effect.ensuring(Effect.sync(() => spawned.forEach((child) => child.kill("SIGKILL"))))

/**
 * A process that idles, with the environment given; `detached` makes it lead its own process group, as an
 * agent does. One `deaf` to SIGTERM is returned once it says its handler is in place.
 */
const idle = (env: Record<string, string>, detached: boolean, deaf = false) =>
  Effect.callback<number>((resume) => {
    const script = `${deaf ? "process.on('SIGTERM', () => {}); process.stdout.write('deaf\\n'); " : ""}setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ["-e", script], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      detached,
      stdio: deaf ? ["ignore", "pipe", "ignore"] : "ignore"
    })
    spawned.push(child)
    if (deaf) child.stdout!.once("data", () => resume(Effect.succeed(child.pid!)))
    else child.once("spawn", () => resume(Effect.succeed(child.pid!)))
  })

/** The record the runtime keeps for the instance, rewritten as a crash would have left it. */
const rewriteRecord = (instanceId: string, change: { readonly pid: number; readonly marker: string }) =>
  Effect.gen(function* () {
    const record = (yield* readRecord(dataDir, tenant, instanceId))!
    yield* writeRecord(instanceDir(dataDir, tenant, instanceId), { ...record, ...change })
  })

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("process runtime across a crash", (it) => {
  it.effect("an agent spawned before its PID reached the record is adopted: creating the instance again starts no second one", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      yield* runtime.create(spec("prd-adopt"), { start: false })
      // The crash: the record names the spawn's marker, the agent runs, its PID never reached the record.
      const marker = "marker-before-crash"
      yield* rewriteRecord("prd-adopt", { pid: 0, marker })
      const agent = yield* idle({ UMBRA_TENANT: tenant, UMBRA_INSTANCE_ID: "prd-adopt", UMBRA_INSTANCE_MARKER: marker }, true)

      const info = yield* runtime.create(spec("prd-adopt"))
      assert.deepInclude(info, { running: true, runtimeId: String(agent) })
      assert.deepStrictEqual(processesOf("prd-adopt"), [agent], "exactly one process for the instance: the adopted one")
      assert.deepInclude(yield* runtime.start(key("prd-adopt")), { runtimeId: String(agent) })

      yield* runtime.remove(key("prd-adopt"))
      assert.deepStrictEqual(processesOf("prd-adopt"), [])
    }).pipe(killSpawned))

  it.effect("a record whose PID another process now has starts the instance once, ends what the last start left and spares the other", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      yield* runtime.create(spec("prd-stale"), { start: false })
      const marker = "marker-of-the-last-start"
      // Another process got the recorded PID; the last start's workload outlived its agent.
      const stranger = yield* idle({}, true)
      const leftover = yield* idle({ UMBRA_TENANT: tenant, UMBRA_INSTANCE_ID: "prd-stale", UMBRA_INSTANCE_MARKER: marker }, false)
      yield* rewriteRecord("prd-stale", { pid: stranger, marker })

      const info = yield* runtime.create(spec("prd-stale"))
      assert.isTrue(info.running)
      assert.deepStrictEqual(processesOf("prd-stale"), [Number(info.runtimeId)], "exactly one process for the instance: the new agent")
      assert.notInclude([stranger, leftover], Number(info.runtimeId))
      assert.isTrue(alive(stranger), "a process that merely reuses the PID is left alone")
      assert.deepStrictEqual((yield* runtime.create(spec("prd-stale"))).runtimeId, info.runtimeId)

      yield* runtime.remove(key("prd-stale"))
      assert.deepStrictEqual(processesOf("prd-stale"), [])
      assert.isTrue(alive(stranger))
    }).pipe(killSpawned))

  it.effect("a stop of processes that ignore SIGTERM kills them after the grace and returns once they are gone", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      yield* runtime.create(spec("prd-stubborn"), { start: false })
      const marker = "marker-of-a-stubborn-agent"
      const stubborn = yield* idle({ UMBRA_TENANT: tenant, UMBRA_INSTANCE_ID: "prd-stubborn", UMBRA_INSTANCE_MARKER: marker }, true, true)
      yield* rewriteRecord("prd-stubborn", { pid: stubborn, marker })
      assert.isTrue((yield* runtime.inspect(key("prd-stubborn")))!.running)

      const started = Date.now()
      yield* runtime.stop(key("prd-stubborn"))
      assert.isAtLeast(Date.now() - started, 2_000, "SIGTERM was ignored: the stop waited out the grace before killing")
      assert.isFalse((yield* runtime.inspect(key("prd-stubborn")))!.running)
      assert.deepStrictEqual(processesOf("prd-stubborn"), [])
    }).pipe(killSpawned))
})
