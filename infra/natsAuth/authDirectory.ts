import { createAccount, createUser } from "@nats-io/nkeys"
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Effect, Schema } from "effect"
import { issueUser } from "./userCredentials.ts"

/** The data directory's NATS credentials could not be read or written. */
export class NatsAuthError extends Schema.TaggedError<NatsAuthError>()("NatsAuthError", { message: Schema.String }) {}

/** Where Umbra keeps its NATS identity, its tenants and its server's address, under `<dataDir>/nats/`. */
export const authPaths = (dataDir: string) => {
  const dir = resolve(dataDir, "nats")
  return {
    dir,
    authority: join(dir, "authority.json"),
    umbraCreds: join(dir, "umbra.creds"),
    tenants: join(dir, "tenants.json"),
    instances: join(dir, "instances.json"),
    serverConfig: join(dir, "server.conf"),
    configLock: join(dir, "server.conf.lock"),
    server: join(dir, "server.json"),
    tenantCreds: (tenant: string) => join(dataDir, "tenants", `${tenant}.creds`)
  }
}

/** The account key that signs users' JWTs, and the public key of Umbra's own user. */
const Authority = Schema.Struct({ accountSeed: Schema.String, umbraPublicKey: Schema.String })
export type Authority = typeof Authority.Type

/** One issued tenant credential; a revoked one stays listed with when it was revoked. */
const TenantCredential = Schema.Struct({
  tenant: Schema.String,
  publicKey: Schema.String,
  issuedAt: Schema.String,
  revokedAt: Schema.optional(Schema.String)
})
export type TenantCredential = typeof TenantCredential.Type
const TenantCredentials = Schema.Array(TenantCredential)

/** The credential of one instance's agent in force: the server knows it by its public key alone. */
const InstanceCredential = Schema.Struct({
  tenant: Schema.String,
  instanceId: Schema.String,
  publicKey: Schema.String,
  issuedAt: Schema.String
})
export type InstanceCredential = typeof InstanceCredential.Type
const InstanceCredentialList = Schema.Array(InstanceCredential)

/** The embedded server a running `umbra serve` started: its URL, and the PID a reload is signalled to. */
const ServerFile = Schema.Struct({ url: Schema.String, pid: Schema.Int })
export type ServerFile = typeof ServerFile.Type

const failure = (what: string) => (cause: unknown) =>
  new NatsAuthError({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

/** Writes a file only its owner can read (keys, credentials, the server config that names them). */
export const writeSecret = (path: string, data: string | Uint8Array) =>
  Effect.tryPromise({
    try: async () => {
      await writeFile(path, data, { mode: 0o600 })
      await chmod(path, 0o600)
    },
    catch: failure(`cannot write ${path}`)
  })

/** A file's bytes, or undefined when there is no such file. */
export const readIfPresent = (path: string): Effect.Effect<Uint8Array | undefined, NatsAuthError> =>
  Effect.tryPromise({ try: () => readFile(path), catch: (cause) => cause }).pipe(
    Effect.map((bytes): Uint8Array | undefined => bytes),
    Effect.catch((cause) =>
      cause instanceof Error && "code" in cause && cause.code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(failure(`cannot read ${path}`)(cause))
    )
  )

/** A JSON file decoded with `schema`, or undefined when there is no such file. */
const readJson = <S extends Schema.Top>(path: string, schema: S) =>
  readIfPresent(path).pipe(
    Effect.flatMap((bytes) =>
      bytes === undefined
        ? Effect.succeed(undefined)
        : Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(new TextDecoder().decode(bytes)).pipe(Effect.mapError(failure(`cannot read ${path}`)))
    )
  )

/** Umbra's account key and own user, created (with `umbra.creds`) on first use of the data directory. */
export const ensureAuthority = (dataDir: string): Effect.Effect<Authority, NatsAuthError> =>
  Effect.gen(function* () {
    const paths = authPaths(dataDir)
    const existing = yield* readJson(paths.authority, Authority)
    if (existing !== undefined) return existing
    yield* Effect.tryPromise({ try: () => mkdir(paths.dir, { recursive: true, mode: 0o700 }), catch: failure(`cannot create ${paths.dir}`) })
    const accountSeed = createAccount().getSeed()
    const umbra = yield* Effect.tryPromise({ try: () => issueUser("umbra", accountSeed), catch: failure("cannot issue Umbra's user") })
    const authority: Authority = { accountSeed: new TextDecoder().decode(accountSeed), umbraPublicKey: umbra.publicKey }
    // The creds first: an authority without them would be read back on the next start with no way to connect.
    yield* writeSecret(paths.umbraCreds, umbra.creds)
    yield* writeSecret(paths.authority, JSON.stringify(authority))
    return authority
  })

export const accountSeedOf = (authority: Authority) => new TextEncoder().encode(authority.accountSeed)

export const readTenants = (dataDir: string): Effect.Effect<ReadonlyArray<TenantCredential>, NatsAuthError> => {
  const path = authPaths(dataDir).tenants
  return readJson(path, TenantCredentials).pipe(Effect.map((tenants) => tenants ?? []))
}

export const writeTenants = (dataDir: string, tenants: ReadonlyArray<TenantCredential>) =>
  writeSecret(authPaths(dataDir).tenants, JSON.stringify(tenants, null, 2))

export const readInstances = (dataDir: string): Effect.Effect<ReadonlyArray<InstanceCredential>, NatsAuthError> =>
  readJson(authPaths(dataDir).instances, InstanceCredentialList).pipe(Effect.map((instances) => instances ?? []))

export const writeInstances = (dataDir: string, instances: ReadonlyArray<InstanceCredential>) =>
  writeSecret(authPaths(dataDir).instances, JSON.stringify(instances, null, 2))

/** The running embedded server's address, when `umbra serve` runs on this data directory (or crashed). */
export const readServerFile = (dataDir: string): Effect.Effect<ServerFile | undefined, NatsAuthError> => {
  const path = authPaths(dataDir).server
  return readJson(path, ServerFile)
}

export const writeServerFile = (dataDir: string, server: ServerFile) => writeSecret(authPaths(dataDir).server, JSON.stringify(server))

export const removeServerFile = (dataDir: string) =>
  Effect.tryPromise({ try: () => rm(authPaths(dataDir).server, { force: true }), catch: failure("cannot remove the server file") })

export const readUmbraCreds = (dataDir: string) => {
  const path = authPaths(dataDir).umbraCreds
  return Effect.tryPromise({ try: () => readFile(path), catch: failure(`cannot read ${path}`) })
}

/** A throwaway user that may do nothing: the config names a new one each time, so a reload is seen when it connects. */
export const reloadProbe = () => {
  const probe = createUser()
  return { publicKey: probe.getPublicKey(), seed: probe.getSeed() }
}
