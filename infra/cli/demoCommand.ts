import { Effect, Schema } from "effect"
import { UmbraConfig } from "../config.ts"
import * as logging from "../logging/logger.ts"
import { runDemo } from "../demo/runDemo.ts"
import { parseOptions } from "./options.ts"
import { exitCodesHelp, failed, print, usage } from "./terminal.ts"

export const demoHelp = `Usage: umbra demo [--fast] [--json] [--data-dir <dir>] [--http-port <port>] [--stay]

A guided scenario on the embedded defaults: a control plane with its own nats-server and SQLite store in a
temporary directory (never ./.umbra), shadows on Docker when an engine answers and Umbra can isolate its
networks, else as local processes (as 'umbra serve' chooses; UMBRA_RUNTIME forces one). Three clients
connect and their shadows start; each shadow's telemetry is played back from real traces (../shared/traces
beside the checkout, else a synthetic pattern; it says which) much faster than real time; forecasts and
profile refinements follow; c1 requests production under load from a loopback load generator and the state
transfer and traffic steps play out; c3's shadow is killed and comes back. Each step prints the time it
took. Everything it started is removed at the end, and on Ctrl-C. Example:
  npx umbra demo            # then open the dashboard address it prints

Options:
  --fast              shorter holds, history and windows (about a minute; for tests)
  --json              one JSON document per milestone: {"milestone", "ok", "tookMs", "elapsedMs", "summary", ...}
  --data-dir <dir>    keep the control plane's data there (events.db, read models) instead of a temporary directory
  --http-port <port>  the dashboard's port (default UMBRA_HTTP_PORT, else 8080; 0: a free one)
  --stay              keep the control plane and its dashboard running after the scenario, until Ctrl-C

${exitCodesHelp("the scenario completed", "a step failed (it says which and why)")}`

const Port = Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 65535 }))

export const demoCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        fast: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        "data-dir": { type: "string" },
        "http-port": { type: "string" },
        stay: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(demoHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`demo takes no arguments (got ${positionals.join(" ")})`, demoHelp)
    const port = Schema.decodeUnknownOption(Port)(values["http-port"] ?? process.env["UMBRA_HTTP_PORT"] ?? "8080")
    if (port._tag === "None") return yield* usage("--http-port (or UMBRA_HTTP_PORT) is a port number, 0 to 65535", demoHelp)
    // The control plane's own logs stay at warnings, so the terminal shows the steps (UMBRA_LOG_LEVEL says otherwise).
    const { logFormat } = yield* UmbraConfig
    const logs = logging.layer({ level: process.env["UMBRA_LOG_LEVEL"] ?? "warn", format: logFormat })
    return yield* runDemo({
      fast: values.fast,
      json: values.json,
      httpPort: port.value,
      stay: values.stay,
      ...(values["data-dir"] === undefined ? {} : { dataDir: values["data-dir"] })
    }).pipe(
      Effect.catch((error) => failed(`demo: ${"message" in error ? error.message : String(error)}`)),
      Effect.provide(logs)
    )
  }).pipe(Effect.catchTag("UsageError", (error) => usage(error.message, demoHelp)))
