import { Effect, Schema, type Scope } from "effect"
import { createConnection } from "node:net"
import { join } from "node:path"
import { findNatsServerBinary, natsServer } from "../nats/natsServerProcess.ts"

/** Nothing answers at NATS_URL and Umbra cannot start a server itself. */
export class NatsNotAvailable extends Schema.TaggedError<NatsNotAvailable>()("NatsNotAvailable", {
  message: Schema.String
}) {}

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

const loopback = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

/**
 * The URL of a NATS server to use: the one at `url` when it answers, else one Umbra starts itself on that
 * loopback port (JetStream, store under the data directory), stopped when the scope closes.
 */
export const ensureNats = (url: string, dataDir: string): Effect.Effect<string, NatsNotAvailable, Scope.Scope> =>
  Effect.gen(function* () {
    const parsed = new URL(url)
    const port = Number(parsed.port || 4222)
    if (yield* answers(parsed.hostname, port)) return url
    const binary = findNatsServerBinary()
    if (binary === undefined || !loopback.has(parsed.hostname)) {
      return yield* new NatsNotAvailable({
        message:
          `no NATS server answers at ${url}` +
          (binary === undefined ? " and there is no nats-server on the PATH to start one" : "") +
          ". Install one (Debian: apt-get install -y nats-server) or set NATS_URL to a server with JetStream enabled.",
      })
    }
    const server = yield* natsServer({ binary, port, storeDir: join(dataDir, "nats") }).pipe(
      Effect.mapError((error) => new NatsNotAvailable({ message: `could not start nats-server: ${error.message}` }))
    )
    yield* Effect.logInfo("started an embedded nats-server", { url: server.url, pid: server.pid, storeDir: server.storeDir })
    return server.url
  })
