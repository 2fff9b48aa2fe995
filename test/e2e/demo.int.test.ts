import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { spawn } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as sqlite from "../../infra/eventStore/sqliteEventStore.ts"
import { tracesDir } from "../../infra/demo/telemetryTrace.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { tempDir, umbra } from "../support/umbraCli.ts"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/** What `umbra demo --json` prints per milestone; each carries figures of its own besides. */
const Milestone = Schema.StructWithRest(
  Schema.Struct({ milestone: Schema.String, ok: Schema.Boolean, tookMs: Schema.Number, elapsedMs: Schema.Number, summary: Schema.optionalKey(Schema.String) }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)
type Milestone = typeof Milestone.Type
const decodeMilestone = Schema.decodeUnknownOption(Schema.fromJsonString(Milestone))

interface DemoRun {
  readonly code: number | null
  readonly milestones: ReadonlyArray<Milestone>
  readonly stderr: string
  /** Lines of stdout that are no milestone: with --json there must be none. */
  readonly strays: ReadonlyArray<string>
  /** What `probe` found when `interruptAfter` was printed. */
  readonly probed?: unknown
}

/**
 * `umbra demo --fast --json` as its own process on the process runtime (it runs anywhere), its milestones as
 * they are printed; with `interruptAfter`, SIGINT (a person's Ctrl-C) once that milestone is printed and
 * `probe` has looked at the running demo.
 */
const runDemo = (args: ReadonlyArray<string>, interruptAfter?: string, probe: (milestones: ReadonlyArray<Milestone>) => Promise<unknown> = async () => undefined) =>
  Effect.callback<DemoRun>((resume) => {
    const child = spawn(process.execPath, [main, "demo", "--fast", "--json", "--http-port", "0", ...args], {
      env: { ...process.env, UMBRA_RUNTIME: "process", UMBRA_LOG_LEVEL: "warn", UMBRA_LOG_FORMAT: "json" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const milestones: Array<Milestone> = []
    const strays: Array<string> = []
    let probed: unknown
    let pending = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk
      const lines = pending.split("\n")
      pending = lines.pop()!
      for (const line of lines) {
        const decoded = decodeMilestone(line)
        if (decoded._tag === "None") {
          strays.push(line)
          continue
        }
        const milestone = decoded.value
        milestones.push(milestone)
        if (milestone.milestone === interruptAfter) {
          void probe(milestones).then((found) => {
            probed = found
            child.kill("SIGINT")
          })
        }
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.once("close", (code) => resume(Effect.succeed({ code, milestones, stderr, strays, probed })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** PIDs of processes whose command line or environment names `dir`: the demo's nats-server, agents and workloads. */
const processesNaming = (dir: string) =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return ["cmdline", "environ"].some((file) => readFileSync(`/proc/${pid}/${file}`, "latin1").includes(dir))
      } catch {
        return false
      }
    })

const refused = (url: string) => Effect.promise(() => fetch(url).then(() => false, () => true))

const eventTypes = (dataDir: string, tenant: string) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const events = yield* store.readAll({ limit: 100_000 })
    return events.filter((event) => event.tenant === tenant)
  }).pipe(Effect.provide(sqlite.layerFile(join(dataDir, "events.db"))))

const find = (milestones: ReadonlyArray<Milestone>, name: string) => {
  const found = milestones.find((m) => m.milestone === name)
  assert.isDefined(found, `milestone ${name} in ${JSON.stringify(milestones.map((m) => m.milestone))}`)
  assert.isTrue(found!.ok, JSON.stringify(found))
  return found!
}

describe("umbra demo", () => {
  it.effect("--fast runs every step, its milestones are in the event store, and it leaves nothing running", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("umbra-demo-test-")
      // --stay keeps it running at the end: the dashboard's server answers and the instances run until Ctrl-C.
      const run = yield* runDemo(["--data-dir", dataDir, "--stay"], "staying", async (milestones) => ({
        http: await fetch(new URL("metrics", String(milestones.find((m) => m.milestone === "dashboard")?.["url"]))).then((r) => r.status, String),
        processes: processesNaming(dataDir).length
      }))
      assert.strictEqual(run.code, 0, `${JSON.stringify(run.milestones, null, 1)}\n${run.stderr}`)
      const milestones = run.milestones
      assert.deepStrictEqual(run.strays, [], "stdout carries milestones only")
      assert.isTrue(milestones.every((m) => m.ok), JSON.stringify(milestones.filter((m) => !m.ok)))

      assert.strictEqual(find(milestones, "control-plane")["runtime"], "process")
      const dashboard = find(milestones, "dashboard")
      assert.match(String(dashboard["url"]), /^http:\/\/127\.0\.0\.1:\d+\/$/)
      const tenant = String(dashboard["tenant"])
      assert.strictEqual(find(milestones, "traces")["source"], existsSync(join(tracesDir, "nab")) ? "real" : "synthetic")
      for (const name of ["clients", "shadows", "telemetry", "forecasts", "refinement", "launch", "provisioned", "transfer", "completed", "recreated", "done"]) {
        find(milestones, name)
      }
      assert.deepStrictEqual(milestones.filter((m) => m.milestone === "weight").map((m) => m["weight"]), [5, 25, 50, 100])
      assert.strictEqual(find(milestones, "completed")["failed"], 0, "no request failed while traffic moved")
      const names = milestones.map((m) => m.milestone)
      assert.deepStrictEqual(names.slice(-3), ["done", "staying", "cleanup"], "the cleanup comes last")
      assert.deepInclude(run.probed, { http: 200 })
      assert.isAbove((run.probed as { processes: number }).processes, 3, "nats-server, agents and workloads name the data directory while they run")
      assert.isAtLeast(Number(find(milestones, "cleanup")["removed"]), 4, "three shadows (one of them pooled) and production")

      // The same story in the event store the demo's control plane wrote.
      const events = yield* eventTypes(dataDir, tenant)
      const count = (type: string, stream?: string) => events.filter((e) => e.type === type && (stream === undefined || e.stream === stream)).length
      assert.strictEqual(count("ClientConnected"), 3)
      assert.isAtLeast(count("InstanceReady"), 3)
      assert.isAtLeast(count("ForecastUpdated") + count("ProfileRefined"), 1)
      assert.strictEqual(count("LaunchCompleted"), 1)
      const victim = `instance-${tenant}.${String(find(milestones, "recreated")["instanceId"])}`
      assert.strictEqual(count("HeartbeatLost", victim), 1)
      assert.strictEqual(count("InstanceRecreated", victim), 1)

      // Nothing it started is left: no process names its data directory, no instance directory, no dashboard.
      assert.deepStrictEqual(processesNaming(dataDir), [])
      const instancesDir = join(dataDir, "instances", tenant)
      assert.deepStrictEqual(existsSync(instancesDir) ? readdirSync(instancesDir) : [], [])
      assert.isTrue(yield* refused(String(dashboard["url"])))
    }), 240_000)

  it.effect("Ctrl-C mid-scenario still removes everything it started, its temporary directory too", () =>
    Effect.gen(function* () {
      const dataDir = (milestones: ReadonlyArray<Milestone>) => String(find(milestones, "control-plane")["dataDir"])
      const run = yield* runDemo([], "shadows", async (milestones) => processesNaming(dataDir(milestones)).length)
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(run.strays, [], "stdout carries milestones only")
      assert.isAbove(Number(run.probed), 3, "its processes ran when it was interrupted")
      assert.strictEqual(find(run.milestones, "cleanup")["removed"], 3)
      assert.isFalse(run.milestones.some((m) => m.milestone === "telemetry"), "interrupted before the telemetry step")
      assert.isFalse(existsSync(dataDir(run.milestones)), "its temporary directory removed")
      assert.deepStrictEqual(processesNaming(dataDir(run.milestones)), [])
    }), 120_000)

  it.effect("--help gives an example; a bad port is a usage error (exit 2)", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("umbra-demo-test-")
      const help = yield* umbra(dataDir, ["demo", "--help"])
      assert.strictEqual(help.code, 0)
      assert.include(help.stdout, "npx umbra demo")
      assert.include(help.stdout, "--fast")
      const bad = yield* umbra(dataDir, ["demo", "--http-port", "99999"])
      assert.strictEqual(bad.code, 2)
      assert.include(bad.stderr, "--http-port")
    }))
})
