import { Effect, Layer } from "effect"
import { NatsAccessConfig, UmbraConfig } from "../config.ts"
import * as logging from "../logging/logger.ts"
import * as natsConnection from "../nats/connection.ts"
import * as natsEventBus from "../nats/natsEventBus.ts"
import { clientAccess } from "../natsAuth/natsAccess.ts"
import { BusUnavailable } from "../../src/eventBus.ts"

/**
 * The CLI's NATS connection, with logs kept to warnings: as `credsFile` (`--creds`) or NATS_CREDS says, else
 * the server and Umbra's own credentials found in UMBRA_DATA_DIR (see `clientAccess`).
 */
export const cliConnectionLayer = (credsFile?: string) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* UmbraConfig
      const access = yield* NatsAccessConfig
      const options = yield* clientAccess(access, config.dataDir, credsFile).pipe(
        Effect.mapError((error) => new BusUnavailable({ message: error.message }))
      )
      return natsConnection.layer({ ...options, name: "umbra-cli" }).pipe(
        Layer.provideMerge(logging.layer({ level: process.env["UMBRA_LOG_LEVEL"] ?? "warn", format: config.logFormat }))
      )
    })
  )

/** What the client commands (send, query, tail) run on. */
export const busClientLayer = (credsFile?: string) => natsEventBus.layer().pipe(Layer.provideMerge(cliConnectionLayer(credsFile)))

/** What a client command says when NATS does not answer. */
export const busUnavailable = (error: { readonly message: string }) =>
  Effect.sync(() => {
    process.stderr.write(
      `umbra: ${error.message}\nIs 'umbra serve' running (its server's URL and credentials are found in UMBRA_DATA_DIR), or NATS_URL pointing at a server, with NATS_CREDS or --creds where it needs them?\n`
    )
    return 1
  })
