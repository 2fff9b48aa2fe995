import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeCommand } from "../../domain/commands.ts"
import { InstanceSpecification } from "../../domain/instance/instance.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { shadowSpec } from "../../src/instances/runtimeSpec.ts"

const commandId = "5d0c5a3e-3c7b-4a57-9a43-1b1f2b0e9a11"
const template = { image: "app:1", dependencies: [], statePaths: ["/var/lib/app"], settings: { MODE: "warm" } }

/** ConnectClient and SetTemplate with `changes` applied to a good template: what the gateway decodes. */
const decoded = (changes: Record<string, unknown>) =>
  Effect.all([
    decodeCommand("ConnectClient", { clientId: "c1", tier: "basic", template: { ...template, ...changes } }, commandId)!,
    decodeCommand("SetTemplate", { clientId: "c1", template: { ...template, ...changes } }, commandId)!
  ])

const refused = (changes: Record<string, unknown>) =>
  Effect.gen(function* () {
    const error = yield* decoded(changes).pipe(Effect.flip)
    assert.strictEqual(error._tag, "ValidationFailed", JSON.stringify(changes))
  })

describe("a tenant's template", () => {
  it.effect("names no state path that is the filesystem, under a system directory, or climbs with ..", () =>
    Effect.gen(function* () {
      const bad = ["/", "//", "/./", "/proc", "/proc/self/root", "/sys/fs", "/dev/shm", "/etc", "/etc/cron.d", "/run/x", "//etc/", "/var/../etc", "/a/b/.."]
      for (const path of bad) yield* refused({ statePaths: [path] })
    }))

  it.effect("names shared state paths by the same rules, at most four, none overlapping a state path", () =>
    Effect.gen(function* () {
      for (const path of ["/", "/proc/x", "/etc", "//run/", "/var/../etc"]) yield* refused({ sharedStatePaths: [path] })
      for (const path of ["/var/lib/app", "/var/lib/app/cache", "/var/lib", "//var/lib/./app/deps", "/var/lib/"]) {
        yield* refused({ sharedStatePaths: [path] })
      }
      yield* refused({ sharedStatePaths: ["/c/1", "/c/2", "/c/3", "/c/4", "/c/5"] })
      const [connect] = yield* decoded({ sharedStatePaths: ["//var/cache//deps/", "/var/lib/application"] })
      assert.deepStrictEqual("template" in connect ? connect.template?.sharedStatePaths : undefined, ["/var/cache/deps", "/var/lib/application"])
    }))

  it.effect("sets no reserved setting", () =>
    Effect.gen(function* () {
      for (const key of ["LD_PRELOAD", "ld_library_path", "NATS_USER", "NATS_URL", "UMBRA_INSTANCE_ID", "UMBRA_IDENTITY_FILES", "NODE_OPTIONS"]) {
        yield* refused({ settings: { MODE: "warm", [key]: "x" } })
      }
    }))

  it.effect("has its state paths normalized, and passes with ordinary paths and settings", () =>
    Effect.gen(function* () {
      const [connect, set] = yield* decoded({ statePaths: ["//var//lib/./app/", "/etcetera", "/srv/run"], identityFiles: ["id.json"] })
      for (const command of [connect, set]) {
        assert.deepStrictEqual("template" in command ? command.template?.statePaths : undefined, ["/var/lib/app", "/etcetera", "/srv/run"])
      }
      yield* decodeCommand("ConnectClient", { clientId: "c1", tier: "basic", template: defaultTemplate }, commandId)!
    }))

  it("gives the agent its telemetry interval and ready path from the template's own fields", () => {
    const specification = Schema.decodeUnknownSync(InstanceSpecification)({
      role: "shadow",
      clientId: "c1",
      tier: "basic",
      template: { ...defaultTemplate, telemetryMs: 1000, readyPath: "/healthz" },
      resources: { cpuMillis: 100, memoryMiB: 256 },
      network: defaultNetwork
    })
    const env = shadowSpec("acme", "shd-1", specification, { natsUrl: "nats://127.0.0.1:4222", heartbeatMs: 1000 }).env
    assert.strictEqual(env["UMBRA_TELEMETRY_MS"], "1000")
    assert.strictEqual(env["UMBRA_READY_PATH"], "/healthz")
  })
})
