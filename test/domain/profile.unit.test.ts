import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeCommand } from "../../domain/commands.ts"
import type { ClientId } from "../../domain/ids.ts"
import { profileDecider } from "../../domain/profile/profile.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { defaultNetwork, defaultTemplate, Template } from "../../domain/profile/template.ts"
import { deciderSpec } from "../support/deciderSpec.ts"

const clientId = "c1" as ClientId
const spec = deciderSpec(profileDecider)
const created = {
  _tag: "ProfileCreated",
  clientId,
  tier: "standard",
  expected: tierDefaults.standard,
  basis: "tier",
  template: defaultTemplate,
  network: defaultNetwork
} as const

describe("ShadowProfile", () => {
  it.effect("creates a profile from the tier's defaults and the default template", () =>
    spec.given([]).when({ _tag: "CreateProfile", clientId, tier: "standard" }).then([created]))

  it.effect("recreates a profile from its history when the tier is unchanged", () => {
    const learned = { cpuMillis: 1234, memoryMiB: 3000, storageGiB: 50 }
    return spec
      .given([created, { _tag: "ProfileRefined", clientId, expected: learned, previous: created.expected, reason: "forecast", source: "scaling" }])
      .when({ _tag: "CreateProfile", clientId, tier: "standard" })
      .then([{ ...created, expected: learned, basis: "history" }])
  })

  it.effect("refines expectations by hand, keeping what the command does not name", () =>
    spec
      .given([created])
      .when({ _tag: "RefineProfile", clientId, expected: { cpuMillis: 750 }, reason: "load test tonight" })
      .then([
        {
          _tag: "ProfileRefined",
          clientId,
          expected: { ...tierDefaults.standard, cpuMillis: 750 },
          previous: tierDefaults.standard,
          reason: "load test tonight",
          source: "manual"
        }
      ]))

  it.effect("records the scaling engine's refinement as its own", () =>
    spec
      .given([created])
      .when({ _tag: "ScaleProfile", clientId, expected: { memoryMiB: 6144 }, reason: "forecast: 60-minute provisioning bound" })
      .then([
        {
          _tag: "ProfileRefined",
          clientId,
          expected: { ...tierDefaults.standard, memoryMiB: 6144 },
          previous: tierDefaults.standard,
          reason: "forecast: 60-minute provisioning bound",
          source: "scaling"
        }
      ]))

  it.effect("records nothing when a refinement changes nothing", () =>
    spec
      .given([created])
      .when({ _tag: "RefineProfile", clientId, expected: { cpuMillis: tierDefaults.standard.cpuMillis }, reason: "same" })
      .then([]))

  it.effect("refuses to refine, retemplate or renetwork a profile that does not exist", () =>
    Effect.gen(function* () {
      yield* spec.given([]).when({ _tag: "RefineProfile", clientId, expected: {}, reason: "x" }).thenFails("NotFound")
      yield* spec.given([]).when({ _tag: "SetTemplate", clientId, template: defaultTemplate }).thenFails("NotFound")
      yield* spec.given([]).when({ _tag: "SetNetwork", clientId, network: defaultNetwork }).thenFails("NotFound")
    }))

  it.effect("decodes commands from the wire and rejects bad fields", () =>
    Effect.gen(function* () {
      const commandId = "00000000-0000-4000-8000-000000000001"
      const ok = yield* decodeCommand("ConnectClient", { clientId: "c1", tier: "standard" }, commandId)!
      assert.deepStrictEqual<unknown>(ok, { _tag: "ConnectClient", clientId: "c1", tier: "standard" })
      const bad = [
        { clientId: "C1", tier: "standard" },
        { clientId: "c1", tier: "gold" },
        { clientId: "c1", tier: "basic", network: { subnets: ["10.0.0.0/33"], securityGroups: [], egress: false } },
        "not an object"
      ]
      for (const data of bad) {
        const error = yield* decodeCommand("ConnectClient", data, commandId)!.pipe(Effect.flip)
        assert.strictEqual(error._tag, "ValidationFailed")
      }
    }))

  it("refuses state paths that climb out with '..'", () => {
    const decode = Schema.decodeUnknownResult(Template)
    const template = { image: "app:1", dependencies: [], settings: {} }
    assert.strictEqual(decode({ ...template, statePaths: ["/var/cache/app"] })._tag, "Success")
    for (const path of ["relative", "/var/../etc", "/..", "/a/b/.."]) {
      assert.strictEqual(decode({ ...template, statePaths: [path] })._tag, "Failure", path)
    }
  })
})
