import { connect, nkeyAuthenticator } from "@nats-io/transport-node"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { defaultConfigFile } from "../nats/natsServerProcess.ts"
import {
  type Authority,
  authPaths,
  type InstanceCredential,
  NatsAuthError,
  readInstances,
  readServerFile,
  readTenants,
  reloadProbe,
  type TenantCredential,
  writeSecret
} from "./authDirectory.ts"
import { withConfigLock } from "./configLock.ts"
import { instancePermissions, type Permissions, tenantPermissions } from "./principals.ts"
import { accountLinks, tenantsAccount } from "./tenantAccount.ts"

/** The account all of Umbra's subjects and streams live in. */
export const umbraAccount = "UMBRA"

const nkeyUser = (publicKey: string, permissions?: { readonly publish: unknown; readonly subscribe: unknown; readonly allow_responses?: boolean }) => ({
  nkey: publicKey,
  ...(permissions === undefined ? {} : { permissions })
})

const allowOnly = (permissions: Permissions) => ({
  publish: { allow: permissions.publish },
  subscribe: { allow: permissions.subscribe },
  allow_responses: permissions.allowResponses
})

/**
 * nats.conf plus the accounts: Umbra's own user may do anything in its account, each instance's agent what
 * `instancePermissions` says (and may answer the requests it receives), the reload probe nothing, and each
 * tenant credential not revoked what `tenantPermissions` says, in the tenants' account (`tenantAccount.ts`). No user is anonymous, and there is no
 * `no_auth_user`, so a connection without credentials is refused.
 */
export const renderServerConfig = (
  base: string,
  storeDir: string,
  authority: Authority,
  tenants: ReadonlyArray<TenantCredential>,
  probePublicKey: string,
  instances: ReadonlyArray<InstanceCredential>
): string => {
  const tenantUsers = tenants
    .filter((credential) => credential.revokedAt === undefined)
    .map((credential) => nkeyUser(credential.publicKey, allowOnly(tenantPermissions(credential.tenant))))
  const instanceUsers = instances.map((credential) =>
    nkeyUser(credential.publicKey, allowOnly(instancePermissions(credential.tenant, credential.instanceId)))
  )
  const users = [
    nkeyUser(authority.umbraPublicKey),
    ...instanceUsers,
    nkeyUser(probePublicKey, { publish: { deny: [">"] }, subscribe: { deny: [">"] } })
  ]
  const { exports, imports } = accountLinks(umbraAccount, tenants.map((credential) => credential.tenant))
  const accounts = {
    [umbraAccount]: { jetstream: "enabled", users, exports },
    [tenantsAccount]: { users: tenantUsers, imports }
  }
  // The store directory is named here, not on the command line: nats-server refuses to reload otherwise.
  const withStore = base.replace(/^jetstream \{$/m, `jetstream {\n  store_dir: ${JSON.stringify(storeDir)}`)
  return `${withStore}\n# Written by umbra serve and umbra tenant from the data directory's tenants.json and instances.json; edits are overwritten.\naccounts: ${JSON.stringify(accounts, null, 2)}\n`
}

/** Writes `<dataDir>/nats/server.conf` for the current tenants and instances; returns the seed of its reload probe. */
export const writeServerConfig = (dataDir: string, authority: Authority) =>
  Effect.gen(function* () {
    const base = yield* Effect.tryPromise({
      try: () => readFile(defaultConfigFile, "utf8"),
      catch: (cause) => new NatsAuthError({ message: `cannot read ${defaultConfigFile}: ${String(cause)}` })
    })
    const tenants = yield* readTenants(dataDir)
    const instances = yield* readInstances(dataDir)
    const probe = reloadProbe()
    const paths = authPaths(dataDir)
    if (!/^jetstream \{$/m.test(base)) return yield* new NatsAuthError({ message: `${defaultConfigFile} has no jetstream block` })
    yield* writeSecret(paths.serverConfig, renderServerConfig(base, paths.dir, authority, tenants, probe.publicKey, instances))
    return probe.seed
  })

const probeConnects = (url: string, seed: Uint8Array) =>
  Effect.tryPromise(() => connect({ servers: url, authenticator: nkeyAuthenticator(seed), maxReconnectAttempts: 0, timeout: 1_000 })).pipe(
    Effect.flatMap((nc) => Effect.promise(() => nc.close())),
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

/** Whether `pid` is still the nats-server started on `configFile` (a stale server file may name a reused PID). */
const runsConfig = (pid: number, configFile: string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(configFile)
  } catch {
    return false
  }
}

const reloadServerConfig = (dataDir: string, authority: Authority) =>
  Effect.gen(function* () {
    const paths = authPaths(dataDir)
    const probe = yield* writeServerConfig(dataDir, authority)
    const server = yield* readServerFile(dataDir)
    if (server === undefined || !runsConfig(server.pid, paths.serverConfig)) return false
    yield* Effect.try({
      try: () => process.kill(server.pid, "SIGHUP"),
      catch: (cause) => new NatsAuthError({ message: `cannot signal nats-server ${server.pid}: ${String(cause)}` })
    })
    for (let attempt = 0; attempt < 100; attempt++) {
      if (yield* probeConnects(server.url, probe)) return true
      yield* Effect.sleep("50 millis")
    }
    return yield* new NatsAuthError({ message: `nats-server ${server.pid} did not reload ${paths.serverConfig} within 5 s` })
  })

/**
 * Rewrites the server config and, when `umbra serve` runs an embedded server on this data directory, has
 * it reload (SIGHUP) and waits until it has: the new config's probe user is accepted. One process at a time.
 */
export const applyServerConfig = (dataDir: string, authority: Authority) =>
  withConfigLock(authPaths(dataDir).configLock, reloadServerConfig(dataDir, authority))
