import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ClientId } from "../../domain/ids.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { profiles, refinementsKept } from "../../projections/profiles.ts"
import { profileQuery } from "../../src/queries/profileQuery.ts"
import { catchUp, handleAs, readModelLayers, rebuildOf, whileRebuilding } from "../support/readModelSpec.ts"

const c1 = { clientId: "c1" as ClientId }
const refine = (tenant: string, cpuMillis: number, reason: string) => handleAs(tenant, "RefineProfile", { clientId: "c1", expected: { cpuMillis }, reason })

describe("Profile", () => {
  it.effect("given a profile refined and changed, then its expectations, basis, template, network and refinements with their reasons and sources", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "CreateProfile", { clientId: "c1", tier: "basic" })
      yield* handleAs("acme", "ScaleProfile", { clientId: "c1", expected: { cpuMillis: 700 }, reason: "forecast peak" })
      yield* refine("acme", 900, "manual override")
      const template = { ...defaultTemplate, settings: { MODE: "fast" } }
      yield* handleAs("acme", "SetTemplate", { clientId: "c1", template })
      const network = { ...defaultNetwork, vlan: 42, subnets: ["10.1.0.0/24"], egress: true }
      yield* handleAs("acme", "SetNetwork", { clientId: "c1", network })
      yield* catchUp(profiles)

      const profile = yield* profileQuery("acme", c1)
      const basic = tierDefaults.basic
      assert.deepInclude(profile, { clientId: "c1", tier: "basic", basis: "tier", expected: { ...basic, cpuMillis: 900 }, template })
      assert.deepStrictEqual(profile.network, network)
      assert.deepStrictEqual(
        profile.refinements.map(({ expected, previous, reason, source }) => [previous.cpuMillis, expected.cpuMillis, reason, source]),
        [[basic.cpuMillis, 700, "forecast peak", "scaling"], [700, 900, "manual override", "manual"]]
      )
    }).pipe(Effect.provide(readModelLayers)))

  it.effect(`given more than ${refinementsKept} refinements, then the newest ${refinementsKept} are kept`, () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "CreateProfile", { clientId: "c1", tier: "basic" })
      for (let i = 1; i <= refinementsKept + 5; i++) yield* refine("acme", 1000 + i, `step ${i}`)
      yield* catchUp(profiles)
      const { refinements } = yield* profileQuery("acme", c1)
      assert.strictEqual(refinements.length, refinementsKept)
      assert.strictEqual(refinements[0]!.reason, "step 6")
      assert.strictEqual(refinements.at(-1)!.reason, `step ${refinementsKept + 5}`)
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given two tenants, then each sees only its own profile, and an unknown client is NotFound", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "CreateProfile", { clientId: "c1", tier: "basic" })
      yield* handleAs("beta", "CreateProfile", { clientId: "c1", tier: "premium" })
      yield* catchUp(profiles)
      assert.strictEqual((yield* profileQuery("acme", c1)).tier, "basic")
      assert.strictEqual((yield* profileQuery("beta", c1)).tier, "premium")
      const missing = yield* profileQuery("gamma", c1).pipe(Effect.flip)
      assert.strictEqual(missing._tag, "NotFound")
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("while the projection is rebuilt, the answer and a NotFound say so", () =>
    Effect.gen(function* () {
      yield* handleAs("acme", "CreateProfile", { clientId: "c1", tier: "basic" })
      yield* catchUp(profiles)
      const answer = yield* profileQuery("acme", c1).pipe(whileRebuilding(profiles))
      assert.deepStrictEqual(rebuildOf(answer), { rebuilding: true, progress: { folded: 1, total: 2 } })
      // A client the rebuild has not reached yet may only not be folded: the NotFound says so.
      const missing = yield* profileQuery("acme", { clientId: "c2" as ClientId }).pipe(whileRebuilding(profiles), Effect.flip)
      assert.deepStrictEqual(missing._tag === "NotFound" ? missing.details : missing, { clientId: "c2", rebuilding: true })
    }).pipe(Effect.provide(readModelLayers)))
})
