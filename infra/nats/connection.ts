import { connect, credsAuthenticator, type NatsConnection as CoreConnection, type Status } from "@nats-io/transport-node"
import { Context, Effect, Layer, Stream } from "effect"
import { BusUnavailable } from "../../src/eventBus.ts"
import { redactCredentials } from "../logging/redactCredentials.ts"

/** The one NATS connection of a process; the raw client, for the NATS adapters in `infra/nats/`. */
export class NatsConnection extends Context.Service<NatsConnection, CoreConnection>()("umbra/infra/NatsConnection") {}

export interface NatsConnectionOptions {
  readonly url: string
  /** Connection name shown by the server's monitoring. */
  readonly name?: string
  readonly reconnectTimeWaitMs?: number
  readonly drainTimeoutMs?: number
  /** Credentials, where the server has users (an agent's are scoped to its tenant's subjects). */
  readonly user?: string
  readonly password?: string
  /** A standard `.creds` file's contents (a user JWT and its nkey seed). */
  readonly creds?: Uint8Array
  /** Where replies arrive: a tenant may receive only on its own prefix. */
  readonly inboxPrefix?: string
}

const logStatus = (status: Status): Effect.Effect<void> => {
  switch (status.type) {
    case "disconnect":
      return Effect.logWarning("NATS disconnected").pipe(Effect.annotateLogs({ server: status.server }))
    case "reconnect":
      return Effect.logInfo("NATS reconnected").pipe(Effect.annotateLogs({ server: status.server }))
    case "error":
      return Effect.logError("NATS connection error").pipe(Effect.annotateLogs({ error: status.error.message }))
    case "slowConsumer":
      return Effect.logWarning("NATS slow consumer").pipe(
        Effect.annotateLogs({ subject: status.sub.getSubject(), pending: status.pending })
      )
    default:
      return Effect.logDebug(`NATS status ${status.type}`)
  }
}

const acquire = (options: NatsConnectionOptions) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        connect({
          servers: options.url,
          name: options.name ?? "umbra",
          // The control plane outlives any NATS restart: reconnect forever, publishes buffer meanwhile.
          maxReconnectAttempts: -1,
          reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
          // Async stack traces cost a third of JetStream publish throughput (FIELD-NOTES).
          noAsyncTraces: true,
          ...(options.user === undefined ? {} : { user: options.user }),
          ...(options.password === undefined ? {} : { pass: options.password }),
          ...(options.creds === undefined ? {} : { authenticator: credsAuthenticator(options.creds) }),
          ...(options.inboxPrefix === undefined ? {} : { inboxPrefix: options.inboxPrefix })
        }),
      catch: (cause) => new BusUnavailable({ message: redactCredentials(`cannot connect to NATS at ${options.url}: ${String(cause)}`) })
    }),
    (nc) => {
      const close = Effect.tryPromise(() => nc.close())
      // A drain waits for the server; when it is gone, close instead of holding shutdown up.
      return Effect.tryPromise(() => nc.drain()).pipe(
        Effect.timeoutOrElse({ duration: options.drainTimeoutMs ?? 5_000, orElse: () => close }),
        Effect.catch(() => close),
        Effect.ignore
      )
    }
  )

/** Connects to `options.url` (reconnecting forever), logs status changes, and drains when released. */
export const layer = (options: NatsConnectionOptions): Layer.Layer<NatsConnection, BusUnavailable> =>
  Layer.effect(
    NatsConnection,
    Effect.gen(function* () {
      const nc = yield* acquire(options)
      yield* Stream.fromAsyncIterable(nc.status(), (cause) => cause).pipe(
        Stream.runForEach(logStatus),
        Effect.ignore,
        Effect.forkScoped
      )
      yield* Effect.logInfo("NATS connected").pipe(Effect.annotateLogs({ server: nc.getServer() }))
      return nc
    }).pipe(Effect.annotateLogs({ component: "nats" }))
  )
