import { Effect, Layer } from "effect"
import { InstanceCredentials } from "../../src/instanceCredentials.ts"
import { NatsAccessConfig, UmbraConfig } from "../config.ts"
import * as logging from "../logging/logger.ts"
import { controlPlaneLayer, runControlPlane } from "../serve/controlPlane.ts"
import { ensureNats } from "../serve/embeddedNats.ts"
import { parseOptions } from "./options.ts"
import { exitCodesHelp, print, usage } from "./terminal.ts"

export const serveHelp = `Usage: umbra serve

Runs the control plane: serves commands on umbra.cmd.<tenant>.<CommandType>, stores events in the event
store, relays them to JetStream (UMBRA_EVENTS) and runs the sagas; answers GET /metrics (Prometheus) on
UMBRA_HTTP_HOST:UMBRA_HTTP_PORT (default 127.0.0.1:8080). Configured by environment variables (see the
README): NATS_URL, NATS_CREDS, UMBRA_DATA_DIR, UMBRA_NATS_PORT, UMBRA_EVENT_STORE, UMBRA_HTTP_PORT, ...
Without NATS_URL it runs its own nats-server (JetStream, loopback only, UMBRA_NATS_PORT or a free port when
that is taken) that refuses anonymous connections; its URL and Umbra's credentials are kept under
UMBRA_DATA_DIR/nats, where the CLI run beside the data directory finds them. 'umbra tenant add' issues
tenants' credentials. SIGINT or SIGTERM shuts down cleanly. Example:
  UMBRA_DATA_DIR=./.umbra UMBRA_HTTP_PORT=8080 umbra serve

${exitCodesHelp("shut down cleanly on SIGINT or SIGTERM", "it could not start, or stopped on an error (logged on stderr)")}`

export const serveCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, { allowPositionals: true, options: { help: { type: "boolean" } } })
    if (values.help === true) return yield* print(serveHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`serve takes no arguments (got ${positionals.join(" ")})`, serveHelp)
    const config = yield* UmbraConfig
    const access = yield* NatsAccessConfig
    // Scopes close inside out: the control plane's fibers, then its services, then an embedded nats-server.
    const program = Effect.gen(function* () {
      const { url, agent, instanceCredentials, ...credentials } = yield* ensureNats(access, config.dataDir)
      // The runtimes mint each instance's own credentials where Umbra runs the server; else agents share `agent`.
      const perInstance = instanceCredentials === undefined ? Layer.empty : Layer.succeed(InstanceCredentials, instanceCredentials)
      return yield* Effect.scoped(runControlPlane(config, agent)).pipe(Effect.provide(Layer.merge(controlPlaneLayer(config, url, credentials), perInstance)))
    }).pipe(Effect.scoped)
    return yield* program.pipe(
      Effect.catch((error) => Effect.logError(error.message).pipe(Effect.as(1))),
      Effect.provide(Layer.mergeAll(logging.layer({ level: config.logLevel, format: config.logFormat })))
    )
  }).pipe(Effect.catchTag("UsageError", (error) => usage(error.message, serveHelp)))
