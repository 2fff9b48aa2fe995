import { Effect, Layer } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { NatsAccessConfig, UmbraConfig } from "../config.ts"
import * as logging from "../logging/logger.ts"
import * as natsConnection from "../nats/connection.ts"
import * as natsEventBus from "../nats/natsEventBus.ts"
import { tenantOfInboxPrefix } from "../nats/tenantConnection.ts"
import { clientAccess } from "../natsAuth/natsAccess.ts"
import { InvalidOptions } from "./clientErrors.ts"

export interface UmbraClientOptions {
  /**
   * A `.creds` file: a tenant's (from `umbra tenant add`), or Umbra's own. Default NATS_CREDS, else the
   * operator's credentials that `umbra serve` keeps in `dataDir`.
   */
  readonly creds?: string
  /** The tenant to act for: with a tenant's credentials, its own by default. Required as the operator. */
  readonly tenant?: string
  /** The NATS server. Default NATS_URL, else the server `umbra serve` started for `dataDir`. */
  readonly url?: string
  /** Umbra's data directory. Default UMBRA_DATA_DIR, else `./.umbra`. */
  readonly dataDir?: string
  /** How long a command or query waits for its reply, unless the call says otherwise (default 10 000 ms). */
  readonly timeoutMs?: number
  /** The client's own log lines (pino, to stderr): default `warn`. */
  readonly logLevel?: "error" | "warn" | "info" | "debug"
}

/**
 * Where and as whom the client connects, found as the CLI finds it (`clientAccess`), and the tenant it acts
 * for: the one its credentials name unless `options.tenant` says another (which its permissions refuse).
 */
export const resolveAccess = (options: UmbraClientOptions) =>
  Effect.gen(function* () {
    const access = yield* NatsAccessConfig
    const config = yield* UmbraConfig
    const found = yield* clientAccess({ ...access, url: options.url ?? access.url }, options.dataDir ?? config.dataDir, options.creds)
    const tenant = options.tenant ?? (found.inboxPrefix === undefined ? undefined : tenantOfInboxPrefix(found.inboxPrefix))
    if (tenant === undefined) return yield* Effect.fail(new InvalidOptions("name the tenant: these credentials are not a tenant's"))
    if (!tokenPattern.test(tenant)) return yield* Effect.fail(new InvalidOptions(`the tenant ${tenant} does not match [a-z0-9][a-z0-9_-]{0,63}`))
    return { tenant, connection: found }
  }).pipe(
    Effect.catchTags({
      ConfigError: (error) => Effect.fail(new InvalidOptions(`the environment's NATS settings: ${error.message}`)),
      NatsAuthError: (error) => Effect.fail(new InvalidOptions(error.message))
    })
  )

/** The connection (the CLI's, named umbra-client) and the bus on it, logging at `level` and above. */
export const clientLayer = (connection: natsConnection.NatsConnectionOptions, level: string) =>
  natsEventBus.layer().pipe(
    Layer.provideMerge(natsConnection.layer({ ...connection, name: "umbra-client" })),
    Layer.provide(logging.layer({ level }))
  )
