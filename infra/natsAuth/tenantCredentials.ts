import { mkdir } from "node:fs/promises"
import { dirname, resolve } from "node:path"
import { DateTime, Effect } from "effect"
import { accountSeedOf, ensureAuthority, NatsAuthError, readTenants, writeSecret, writeTenants } from "./authDirectory.ts"
import { tenantPermissions } from "./principals.ts"
import { applyServerConfig } from "./serverConfig.ts"
import { issueUser } from "./userCredentials.ts"

/** One tenant as `tenant ls` shows it: how many of its credentials are in force and how many revoked. */
export interface TenantSummary {
  readonly tenant: string
  readonly active: number
  readonly revoked: number
}

/**
 * Issues `tenant` a new credential, writes its `.creds` to `out` (0600), and has a running embedded server
 * accept it before returning. Earlier credentials of the tenant stay valid until revoked.
 */
export const addTenant = (dataDir: string, tenant: string, out: string) =>
  Effect.gen(function* () {
    const authority = yield* ensureAuthority(dataDir)
    const issued = yield* Effect.tryPromise({
      try: () => issueUser(tenant, accountSeedOf(authority), tenantPermissions(tenant)),
      catch: (cause) => new NatsAuthError({ message: `cannot issue credentials for ${tenant}: ${String(cause)}` })
    })
    const path = resolve(out)
    yield* Effect.tryPromise({ try: () => mkdir(dirname(path), { recursive: true }), catch: (cause) => new NatsAuthError({ message: String(cause) }) })
    yield* writeSecret(path, issued.creds)
    const issuedAt = DateTime.formatIso(yield* DateTime.now)
    yield* writeTenants(dataDir, [...(yield* readTenants(dataDir)), { tenant, publicKey: issued.publicKey, issuedAt }])
    yield* applyServerConfig(dataDir, authority)
    return path
  })

/** Every tenant ever issued credentials, in the order first issued. */
export const listTenants = (dataDir: string): Effect.Effect<ReadonlyArray<TenantSummary>, NatsAuthError> =>
  readTenants(dataDir).pipe(
    Effect.map((credentials) => {
      const byTenant = new Map<string, { active: number; revoked: number }>()
      for (const credential of credentials) {
        const counts = byTenant.get(credential.tenant) ?? { active: 0, revoked: 0 }
        if (credential.revokedAt === undefined) counts.active++
        else counts.revoked++
        byTenant.set(credential.tenant, counts)
      }
      return [...byTenant].map(([tenant, counts]) => ({ tenant, ...counts }))
    })
  )

/**
 * Revokes every credential of `tenant` in force; a running embedded server reloads before this returns and
 * closes the connections made with them. Returns how many were revoked (0: none was in force).
 */
export const revokeTenant = (dataDir: string, tenant: string) =>
  Effect.gen(function* () {
    const authority = yield* ensureAuthority(dataDir)
    const credentials = yield* readTenants(dataDir)
    const revokedAt = DateTime.formatIso(yield* DateTime.now)
    const revoked = credentials.filter((credential) => credential.tenant === tenant && credential.revokedAt === undefined).length
    if (revoked === 0) return 0
    yield* writeTenants(
      dataDir,
      credentials.map((credential) => (credential.tenant === tenant && credential.revokedAt === undefined ? { ...credential, revokedAt } : credential))
    )
    yield* applyServerConfig(dataDir, authority)
    return revoked
  })
