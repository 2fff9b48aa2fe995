import { connect } from "@nats-io/transport-node"
import { Effect, Redacted, Schema, type Scope } from "effect"
import { existsSync, renameSync } from "node:fs"
import { createConnection } from "node:net"
import { join } from "node:path"
import { subjects } from "../../domain/subjects.ts"
import type { NatsAccessConfig } from "../config.ts"
import type { InstanceCredentialsShape } from "../../src/instanceCredentials.ts"
import { authPaths, ensureAuthority, readUmbraCreds, removeServerFile, writeServerFile } from "../natsAuth/authDirectory.ts"
import { embeddedInstanceCredentials } from "../natsAuth/instanceCredentials.ts"
import { type AgentCredentials, configuredCredentials, type NatsCredentials } from "../natsAuth/natsAccess.ts"
import { umbraAccount, writeServerConfig } from "../natsAuth/serverConfig.ts"
import { findNatsServerBinary, freePort, natsServer } from "../nats/natsServerProcess.ts"

/** Nothing answers at NATS_URL, or Umbra cannot start its own server. */
export class NatsNotAvailable extends Schema.TaggedError<NatsNotAvailable>()("NatsNotAvailable", {
  message: Schema.String
}) {}

/**
 * A NATS server to connect to, the credentials Umbra connects with, and those its agents do: minted per
 * instance on Umbra's own server, one shared user (when configured) on the server at NATS_URL.
 */
export interface NatsEndpoint extends NatsCredentials {
  readonly url: string
  readonly instanceCredentials?: InstanceCredentialsShape
  readonly agent?: AgentCredentials
}

const answers = (host: string, port: number) =>
  Effect.callback<boolean>((resume) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resume(Effect.succeed(ok))
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const notAvailable = (error: { readonly message: string }) => new NatsNotAvailable({ message: error.message })

/**
 * A data directory from before authentication has its streams in the anonymous server's global account
 * (`$G`); nats-server keeps an account's JetStream files under its name, so moving them adopts them into
 * Umbra's account, kept.
 */
const adoptAnonymousStreams = (storeDir: string) =>
  Effect.gen(function* () {
    const anonymous = join(storeDir, "jetstream", "$G")
    const umbra = join(storeDir, "jetstream", umbraAccount)
    if (!existsSync(anonymous) || existsSync(umbra)) return
    yield* Effect.try({
      try: () => renameSync(anonymous, umbra),
      catch: (cause) => new NatsNotAvailable({ message: `cannot move ${anonymous} to ${umbra}: ${String(cause)}` })
    })
    yield* Effect.logInfo(`moved the streams of the anonymous server (${anonymous}) into account ${umbraAccount}`)
  })

/**
 * Umbra's own nats-server, with the configuration it writes under `<dataDir>/nats/` (accounts and users:
 * Umbra's own, each tenant's, each instance's, no anonymous one) on loopback `port`, or on a free port when that one is
 * taken. Its URL goes to `<dataDir>/nats/server.json` while it runs, for the CLI and `tenant` reloads.
 */
export const embeddedNats = (dataDir: string, port: number): Effect.Effect<NatsEndpoint, NatsNotAvailable, Scope.Scope> =>
  Effect.gen(function* () {
    const binary = findNatsServerBinary()
    if (binary === undefined) {
      return yield* new NatsNotAvailable({
        message: "NATS_URL is not set and there is no nats-server on the PATH to start one. Install one (Debian: apt-get install -y nats-server) or set NATS_URL to a server with JetStream enabled."
      })
    }
    const authority = yield* ensureAuthority(dataDir).pipe(Effect.mapError(notAvailable))
    yield* writeServerConfig(dataDir, authority).pipe(Effect.mapError(notAvailable))
    let chosen = port
    if (yield* answers("127.0.0.1", port)) {
      chosen = yield* Effect.promise(() => freePort())
      yield* Effect.logWarning(`port ${port} (UMBRA_NATS_PORT) is taken; Umbra's nats-server listens on ${chosen} instead`)
    }
    const paths = authPaths(dataDir)
    yield* adoptAnonymousStreams(paths.dir)
    const server = yield* natsServer({ binary, port: chosen, storeDir: paths.dir, configFile: paths.serverConfig, storeDirInConfig: true }).pipe(
      Effect.mapError((error) => new NatsNotAvailable({ message: `could not start nats-server: ${error.message}` }))
    )
    yield* Effect.acquireRelease(writeServerFile(dataDir, { url: server.url, pid: server.pid }), () =>
      removeServerFile(dataDir).pipe(Effect.ignore)
    ).pipe(Effect.mapError(notAvailable))
    const creds = yield* readUmbraCreds(dataDir).pipe(Effect.mapError(notAvailable))
    const instanceCredentials = yield* embeddedInstanceCredentials(dataDir, authority)
    yield* Effect.logInfo("started Umbra's nats-server (anonymous connections refused)", {
      url: server.url,
      pid: server.pid,
      credentials: paths.umbraCreds
    })
    return { url: server.url, creds, instanceCredentials }
  })

/** Whether a connection without credentials may publish a command: it connects, publishes, and is not told no. */
export const anonymousMayPublish = (url: string) =>
  Effect.tryPromise(async () => {
    const nc = await connect({ servers: url, maxReconnectAttempts: 0, timeout: 2_000 })
    const refused = (async () => {
      for await (const status of nc.status()) if (status.type === "error") return true
      return false
    })()
    // The server answers a refused publish before the PONG of the flush that follows it.
    // Under umbra.cmd.> but one token deeper than any command, so no gateway receives it.
    nc.publish(`${subjects.command("anonymous-probe", "Probe")}.unanswered`, "")
    await nc.flush()
    const verdict = await Promise.race([refused, nc.flush().then(() => false)])
    await nc.close()
    return !verdict
  }).pipe(Effect.orElseSucceed(() => false))

/**
 * The server at NATS_URL with NATS_CREDS or NATS_USER/NATS_PASSWORD; warns when anonymous connections
 * can publish commands there (anyone could then speak for any tenant).
 */
export const externalNats = (url: string, access: NatsAccessConfig): Effect.Effect<NatsEndpoint, NatsNotAvailable> =>
  Effect.gen(function* () {
    const parsed = new URL(url)
    if (!(yield* answers(parsed.hostname, Number(parsed.port || 4222)))) {
      return yield* new NatsNotAvailable({ message: `no NATS server answers at NATS_URL ${url}. Unset NATS_URL to let Umbra run its own.` })
    }
    const credentials = yield* configuredCredentials(access).pipe(Effect.mapError(notAvailable))
    if (yield* anonymousMayPublish(url)) {
      yield* Effect.logWarning(
        `SECURITY: an anonymous connection to ${url} can publish commands (umbra.cmd.>): anyone who reaches this server can act for any tenant. Give the server users (see nats.production.conf) or unset NATS_URL.`
      )
    }
    const agent = access.agentUser === undefined
      ? {}
      : { agent: { user: access.agentUser, password: access.agentPassword === undefined ? "" : Redacted.value(access.agentPassword) } }
    // Umbra cannot add users to a server it does not configure: its agents share one, in their environment.
    yield* Effect.logWarning(
      `SECURITY: with NATS_URL, instance agents get no credentials of their own: they all connect ${access.agentUser === undefined ? "without credentials" : `as UMBRA_AGENT_NATS_USER (${access.agentUser})`}, so any agent can speak for any instance. Unset NATS_URL to have Umbra mint credentials per instance.`
    )
    return { url, ...credentials, ...agent }
  })

/** Umbra's own server when NATS_URL is not set, else the one it names. */
export const ensureNats = (access: NatsAccessConfig, dataDir: string): Effect.Effect<NatsEndpoint, NatsNotAvailable, Scope.Scope> =>
  access.url === undefined ? embeddedNats(dataDir, access.port) : externalNats(access.url, access)
