import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { dashboardKeyPath, loadDashboardKey, mayView, operatorToken, tenantToken, viewerOf } from "../../infra/dashboard/dashboardTokens.ts"
import { holderRevocationsIn, revokeHolder } from "../../infra/dashboard/tokenHolders.ts"

const withDataDir = <A, E>(use: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-key-"))),
    use,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("dashboard tokens", () => {
  it.effect("the key is made once, readable by its owner only, and the same for every later reader", () =>
    withDataDir((dir) =>
      Effect.gen(function* () {
        const first = yield* loadDashboardKey(dir)
        const again = yield* Effect.all([loadDashboardKey(dir), loadDashboardKey(dir)], { concurrency: 2 })
        assert.isTrue(again.every((key) => key.equals(first)))
        assert.strictEqual(first.length, 32)
        assert.strictEqual(statSync(dashboardKeyPath(dir)).mode & 0o777, 0o600)
        writeFileSync(dashboardKeyPath(dir), "short\n")
        assert.strictEqual((yield* loadDashboardKey(dir).pipe(Effect.flip))._tag, "DashboardKeyFailed")
      })
    ))

  it.effect("a token speaks for the tenant whose name its MAC covers, the operator's for every tenant; nothing else verifies", () =>
    Effect.gen(function* () {
      const key = Buffer.alloc(32, 1)
      const other = Buffer.alloc(32, 2)
      const check = { key, revocations: () => Effect.succeed(0), holderRevocations: () => Effect.succeed(0) }
      assert.deepStrictEqual(yield* viewerOf(check, tenantToken(key, "acme", 0)), { kind: "tenant", tenant: "acme" })
      assert.deepStrictEqual(yield* viewerOf(check, operatorToken(key)), { kind: "operator" })
      // A tenant named "operator" is a tenant like any other.
      assert.deepStrictEqual(yield* viewerOf(check, tenantToken(key, "operator", 0)), { kind: "tenant", tenant: "operator" })
      const acmeMac = tenantToken(key, "acme", 0).split(".")[2]!
      for (const forged of [
        tenantToken(other, "acme", 0),
        operatorToken(other),
        `tenant.beta.${acmeMac}`,
        `operator.${acmeMac}`,
        `tenant.ACME.${acmeMac}`,
        `tenant.acme.${acmeMac}.x`,
        `tenant.acme.${acmeMac.slice(0, -2)}`,
        "",
        "operator"
      ]) assert.isUndefined(yield* viewerOf(check, forged), forged)
      assert.isTrue(mayView({ kind: "operator" }, "beta"))
      assert.isTrue(mayView({ kind: "tenant", tenant: "acme" }, "acme"))
      assert.isFalse(mayView({ kind: "tenant", tenant: "acme" }, "beta"))
    }))

  it.effect("a revocation of a tenant's credentials voids the tenant's tokens made before it, and no one else's", () =>
    Effect.gen(function* () {
      const key = Buffer.alloc(32, 1)
      const revoked = new Map<string, number>()
      const check = { key, revocations: (tenant: string) => Effect.succeed(revoked.get(tenant) ?? 0), holderRevocations: () => Effect.succeed(0) }
      const before = tenantToken(key, "acme", 0)
      revoked.set("acme", 1)
      assert.isUndefined(yield* viewerOf(check, before))
      assert.deepStrictEqual(yield* viewerOf(check, tenantToken(key, "acme", 1)), { kind: "tenant", tenant: "acme" })
      assert.deepStrictEqual(yield* viewerOf(check, tenantToken(key, "beta", 0)), { kind: "tenant", tenant: "beta" })
      assert.deepStrictEqual(yield* viewerOf(check, operatorToken(key)), { kind: "operator" })
      // A holder's token covers the tenant's revocations too.
      assert.isUndefined(yield* viewerOf(check, tenantToken(key, "acme", 0, { name: "alice", revocations: 0 })))
    }))

  it.effect("a named holder's token is the holder's alone: revoking it voids no other holder's, and it cannot be moved to another name", () =>
    withDataDir((dir) =>
      Effect.gen(function* () {
        const key = Buffer.alloc(32, 1)
        const check = { key, revocations: () => Effect.succeed(0), holderRevocations: holderRevocationsIn(dir) }
        const alice = tenantToken(key, "acme", 0, { name: "alice", revocations: 0 })
        const bob = tenantToken(key, "acme", 0, { name: "bob", revocations: 0 })
        const shared = tenantToken(key, "acme", 0)
        assert.match(alice, /^tenant\.acme\.alice\.[A-Za-z0-9_-]{43}$/)
        assert.deepStrictEqual(yield* viewerOf(check, alice), { kind: "tenant", tenant: "acme", holder: "alice" })
        assert.strictEqual(yield* revokeHolder(dir, "acme", "alice"), 1)
        assert.isUndefined(yield* viewerOf(check, alice))
        assert.deepStrictEqual(yield* viewerOf(check, bob), { kind: "tenant", tenant: "acme", holder: "bob" })
        assert.deepStrictEqual(yield* viewerOf(check, shared), { kind: "tenant", tenant: "acme" })
        assert.deepStrictEqual(yield* viewerOf(check, tenantToken(key, "acme", 0, { name: "alice", revocations: 1 })), { kind: "tenant", tenant: "acme", holder: "alice" })
        const bobMac = bob.split(".")[3]!
        for (const forged of [`tenant.acme.alice.${bobMac}`, `tenant.acme.${bobMac}`, `tenant.beta.bob.${bobMac}`, `tenant.acme.Bob.${bobMac}`, `tenant.acme..${bobMac}`]) {
          assert.isUndefined(yield* viewerOf(check, forged), forged)
        }
        assert.strictEqual(statSync(join(dir, "http", "token-holders", "acme.alice")).mode & 0o777, 0o600)
        // Unreadable revocations fail closed.
        writeFileSync(join(dir, "http", "token-holders", "acme.alice"), "not a count\n")
        assert.strictEqual((yield* viewerOf(check, alice).pipe(Effect.flip))._tag, "DashboardKeyFailed")
      })
    ))
})
