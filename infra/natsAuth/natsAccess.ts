import { readFile } from "node:fs/promises"
import { Effect, Redacted } from "effect"
import type { NatsAccessConfig } from "../config.ts"
import type { NatsConnectionOptions } from "../nats/connection.ts"
import { authPaths, NatsAuthError, readIfPresent, readServerFile } from "./authDirectory.ts"
import { tenantOfInboxPrefix } from "../nats/tenantConnection.ts"
import { inboxPrefixOfCreds } from "./userCredentials.ts"

/** Who a connection authenticates as: a `.creds` file's user (with its inbox prefix) or a user and password. */
export type NatsCredentials = Pick<NatsConnectionOptions, "creds" | "inboxPrefix" | "user" | "password">

/**
 * The user and password every instance's agent shares on a server at NATS_URL, which Umbra cannot add users
 * to (its own server mints credentials per instance instead): the runtime puts them in the agent's
 * environment, never in a spec, a template or an event.
 */
export interface AgentCredentials {
  readonly user: string
  readonly password: string
}

/** The variables that carry them to the agent (it reads NATS_USER and NATS_PASSWORD). */
export const agentCredentialsEnv = (credentials: AgentCredentials | undefined): Record<string, string> =>
  credentials === undefined ? {} : { NATS_USER: credentials.user, NATS_PASSWORD: credentials.password }

const readCreds = (path: string) =>
  Effect.tryPromise({ try: () => readFile(path), catch: (cause) => new NatsAuthError({ message: `cannot read ${path}: ${String(cause)}` }) })

/** The credentials a `.creds` file holds, with the inbox prefix its user may receive on. */
export const credsFileCredentials = (path: string) =>
  Effect.gen(function* () {
    const creds = yield* readCreds(path)
    const inboxPrefix = yield* inboxPrefixOfCreds(creds).pipe(Effect.mapError((error) => new NatsAuthError({ message: `${path}: ${error.message}` })))
    return { creds, ...(inboxPrefix === undefined ? {} : { inboxPrefix }) } satisfies NatsCredentials
  })

/** What the environment names: a `.creds` file (`credsFile` first, then NATS_CREDS), else NATS_USER/NATS_PASSWORD. */
export const configuredCredentials = (access: NatsAccessConfig, credsFile?: string): Effect.Effect<NatsCredentials, NatsAuthError> => {
  const path = credsFile ?? access.creds
  if (path !== undefined) return credsFileCredentials(path)
  if (access.user === undefined) return Effect.succeed({})
  return Effect.succeed({ user: access.user, ...(access.password === undefined ? {} : { password: Redacted.value(access.password) }) })
}

/**
 * Where a CLI command connects and as whom. Without NATS_URL it finds the server `umbra serve` started in
 * the data directory, as a kubeconfig is found, and (without other credentials) acts as Umbra itself.
 */
export const clientAccess = (access: NatsAccessConfig, dataDir: string, credsFile?: string) =>
  Effect.gen(function* () {
    const configured = yield* configuredCredentials(access, credsFile)
    if (access.url !== undefined) return { url: access.url, ...configured }
    const server = yield* readServerFile(dataDir)
    const url = server?.url ?? `nats://127.0.0.1:${access.port}`
    if (configured.creds !== undefined || configured.user !== undefined) return { url, ...configured }
    const umbra = yield* readIfPresent(authPaths(dataDir).umbraCreds)
    return { url, ...(umbra === undefined ? {} : { creds: umbra }) }
  })

/** The tenant whose credentials `credsFile` (or NATS_CREDS) holds, if they are a tenant's. */
export const credsTenant = (access: NatsAccessConfig, credsFile?: string) =>
  configuredCredentials(access, credsFile).pipe(
    Effect.map(({ inboxPrefix }) => (inboxPrefix === undefined ? undefined : tenantOfInboxPrefix(inboxPrefix)))
  )
