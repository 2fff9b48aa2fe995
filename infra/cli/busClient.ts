import { Effect, Layer } from "effect"
import { UmbraConfig } from "../config.ts"
import * as logging from "../logging/logger.ts"
import * as natsConnection from "../nats/connection.ts"
import * as natsEventBus from "../nats/natsEventBus.ts"

/** What the client commands (send, tail) run on: a NATS connection at NATS_URL and quiet logs. */
export const busClientLayer = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* UmbraConfig
    return natsEventBus.layer().pipe(
      Layer.provide(natsConnection.layer({ url: config.natsUrl, name: "umbra-cli" })),
      Layer.provideMerge(logging.layer({ level: process.env["UMBRA_LOG_LEVEL"] ?? "warn", format: config.logFormat }))
    )
  })
)

/** What a client command says when NATS does not answer. */
export const busUnavailable = (error: { readonly message: string }) =>
  Effect.sync(() => {
    process.stderr.write(`umbra: ${error.message}\nIs 'umbra serve' running, and NATS_URL pointing at its server?\n`)
    return 1
  })
