import { Effect, Layer } from "effect"
import { UmbraConfig } from "../config.ts"
import * as logging from "../logging/logger.ts"
import { controlPlaneLayer, runControlPlane } from "../serve/controlPlane.ts"
import { ensureNats } from "../serve/embeddedNats.ts"
import { parseOptions } from "./options.ts"
import { print, usage } from "./terminal.ts"

export const serveHelp = `Usage: umbra serve

Runs the control plane: serves commands on umbra.cmd.<tenant>.<CommandType>, stores events in the event
store, relays them to JetStream (UMBRA_EVENTS) and runs the sagas. Configured by environment variables
(see the README): NATS_URL, UMBRA_DATA_DIR, UMBRA_EVENT_STORE, KURRENTDB_URL, UMBRA_LOG_LEVEL, ...
When nothing answers at NATS_URL and nats-server is on the PATH, it starts one (JetStream, loopback only,
store under UMBRA_DATA_DIR/nats) and stops it on exit. SIGINT or SIGTERM shuts down cleanly.`

export const serveCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, { allowPositionals: true, options: { help: { type: "boolean" } } })
    if (values.help === true) return yield* print(serveHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`serve takes no arguments (got ${positionals.join(" ")})`, serveHelp)
    const config = yield* UmbraConfig
    // Scopes close inside out: the control plane's fibers, then its services, then an embedded nats-server.
    const program = Effect.gen(function* () {
      const natsUrl = yield* ensureNats(config.natsUrl, config.dataDir)
      return yield* Effect.scoped(runControlPlane(config)).pipe(Effect.provide(controlPlaneLayer(config, natsUrl)))
    }).pipe(Effect.scoped)
    return yield* program.pipe(
      Effect.catch((error) => Effect.logError(error.message).pipe(Effect.as(1))),
      Effect.provide(Layer.mergeAll(logging.layer({ level: config.logLevel, format: config.logFormat })))
    )
  }).pipe(Effect.catchTag("UsageError", (error) => usage(error.message, serveHelp)))
