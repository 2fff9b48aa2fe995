import { DateTime, Effect, Semaphore } from "effect"
import { CredentialsFailed, InstanceCredentials } from "../../src/instanceCredentials.ts"
import type { InstanceKey } from "../../src/instanceRuntime.ts"
import { accountSeedOf, type Authority, type InstanceCredential, NatsAuthError, readInstances, writeInstances } from "./authDirectory.ts"
import { instancePermissions } from "./principals.ts"
import { applyServerConfig } from "./serverConfig.ts"
import { issueUser } from "./userCredentials.ts"

const isOf = (key: InstanceKey) => (credential: InstanceCredential) => credential.tenant === key.tenant && credential.instanceId === key.instanceId

/**
 * Credentials per instance on Umbra's own server: each instance an nkey user of its own, listed by its public
 * key in `nats/instances.json` and the server's config; its seed exists only in the `.creds` returned (the
 * runtime's file). Every change rewrites the config and waits for the server to reload it, one at a time, so
 * that no change is lost to another's rewrite.
 */
export const embeddedInstanceCredentials = (dataDir: string, authority: Authority) =>
  Effect.gen(function* () {
    const changes = yield* Semaphore.make(1)

    /** The key's credential replaced by `next` (none: withdrawn), in force once the server has reloaded. */
    const replace = (key: InstanceKey, next: InstanceCredential | undefined) =>
      Effect.gen(function* () {
        const others = (yield* readInstances(dataDir)).filter((credential) => !isOf(key)(credential))
        yield* writeInstances(dataDir, next === undefined ? others : [...others, next])
        yield* applyServerConfig(dataDir, authority)
      })

    const failed = (key: InstanceKey) => (error: NatsAuthError) => new CredentialsFailed({ instanceId: key.instanceId, message: error.message })

    const mint = (key: InstanceKey) =>
      Effect.gen(function* () {
        const issued = yield* Effect.tryPromise({
          try: () => issueUser(`${key.tenant}.${key.instanceId}`, accountSeedOf(authority), instancePermissions(key.tenant, key.instanceId)),
          catch: (cause) => new NatsAuthError({ message: `cannot issue credentials: ${String(cause)}` })
        })
        const issuedAt = DateTime.formatIso(yield* DateTime.now)
        yield* replace(key, { tenant: key.tenant, instanceId: key.instanceId, publicKey: issued.publicKey, issuedAt })
        return issued.creds
      }).pipe(Semaphore.withPermit(changes), Effect.mapError(failed(key)))

    const revoke = (key: InstanceKey) =>
      Effect.gen(function* () {
        if (!(yield* readInstances(dataDir)).some(isOf(key))) return
        yield* replace(key, undefined)
      }).pipe(Semaphore.withPermit(changes), Effect.mapError(failed(key)))

    return InstanceCredentials.of({ mint, revoke })
  })
