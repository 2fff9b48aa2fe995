import { Effect } from "effect"
import * as logging from "../logging/logger.ts"
import { runMain } from "../runMain.ts"
import { exitCodesHelp, print, usage } from "./terminal.ts"

const help = `Usage: umbra <command> [options]

Commands:
  serve      run the control plane (command gateway, relay, sagas) on embedded defaults
  tenant     issue (add), list (ls) and revoke tenants' NATS credentials
  send       send one command and print the reply
  query      ask a query (e.g. Launch) and print the answer
  tail       follow events as they reach JetStream
  dlq        list, show and retry dead letters (messages a consumer could not handle)
  replay     rebuild read models from the event log (or JetStream), and diff them with the live ones
  events     export the event log as NDJSON, import such a file into the event store
  streams    list the event store's streams (ls), print one stream's events (show)
  demo       a guided scenario: clients, shadows, forecasts, a launch under load, a shadow killed and back
  image      build the agent and sample workload images offline (image build)
  agent      the process inside each instance: heartbeats, telemetry, control requests
  backtest   run the forecaster over CSV traces and compare it with baselines

Run 'umbra <command> --help' for a command's options. Configuration is read from the environment: see README.md.
Example:
  umbra serve &
  umbra tenant add acme --out acme.creds
  umbra send ConnectClient --tenant acme --creds acme.creds --data '{"clientId": "c1", "tier": "basic"}'

${exitCodesHelp("the command did what was asked", "it could not (it says why on stderr)")}`

type Command = (argv: ReadonlyArray<string>) => Effect.Effect<number, unknown>

// Each command's modules are loaded only when it runs: together they are the whole of Umbra (the control
// plane, Docker, the demo), and loading them all made every command take a second to start.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serveCommand.ts")).serveCommand,
  tenant: async () => (await import("./tenantCommand.ts")).tenantCommand,
  send: async () => (await import("./sendCommand.ts")).sendCommand,
  query: async () => (await import("./queryCommand.ts")).queryCommand,
  tail: async () => (await import("./tailCommand.ts")).tailCommand,
  dlq: async () => (await import("./dlqCommand.ts")).dlqCommand,
  replay: async () => (await import("./replayCommand.ts")).replayCommand,
  events: async () => (await import("./eventsCommand.ts")).eventsCommand,
  streams: async () => (await import("./streamsCommand.ts")).streamsCommand,
  image: async () => (await import("./imageCommand.ts")).imageCommand,
  demo: async () => (await import("./demoCommand.ts")).demoCommand,
  agent: async () => (await import("./agentCommand.ts")).agentCommand,
  backtest: async () => {
    const { backtestCommand } = await import("../backtest/backtestCommand.ts")
    return (argv) => Effect.promise(() => backtestCommand(argv))
  }
}

const [name, ...argv] = process.argv.slice(2)

// Logs go to stderr for every command, so that stdout carries only what a command prints.
const logs = logging.layer({
  level: process.env["UMBRA_LOG_LEVEL"] ?? "info",
  format: process.env["UMBRA_LOG_FORMAT"] === "json" || process.env["UMBRA_LOG_FORMAT"] === "pretty" ? process.env["UMBRA_LOG_FORMAT"] : undefined
})

const program: Effect.Effect<number, unknown> =
  name === undefined || name === "--help" || name === "-h" || name === "help"
    ? print(help).pipe(Effect.as(name === undefined ? 2 : 0))
    : Object.hasOwn(commands, name)
      ? Effect.promise(commands[name]!).pipe(Effect.flatMap((command) => command(argv)), Effect.provide(logs))
      : usage(`there is no command '${name}'`, help)

runMain(program, { disableErrorReporting: true })
