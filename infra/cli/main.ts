#!/usr/bin/env node
import { Effect } from "effect"
import * as logging from "../logging/logger.ts"
import { backtestCommand } from "../backtest/backtestCommand.ts"
import { agentCommand } from "./agentCommand.ts"
import { demoCommand } from "./demoCommand.ts"
import { dlqCommand } from "./dlqCommand.ts"
import { eventsCommand } from "./eventsCommand.ts"
import { imageCommand } from "./imageCommand.ts"
import { queryCommand } from "./queryCommand.ts"
import { replayCommand } from "./replayCommand.ts"
import { runMain } from "../runMain.ts"
import { exitCodesHelp, print, usage } from "./terminal.ts"
import { sendCommand } from "./sendCommand.ts"
import { serveCommand } from "./serveCommand.ts"
import { streamsCommand } from "./streamsCommand.ts"
import { tailCommand } from "./tailCommand.ts"
import { tenantCommand } from "./tenantCommand.ts"

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

const commands: Record<string, (argv: ReadonlyArray<string>) => Effect.Effect<number, unknown>> = {
  serve: serveCommand,
  tenant: tenantCommand,
  send: sendCommand,
  query: queryCommand,
  tail: tailCommand,
  dlq: dlqCommand,
  replay: replayCommand,
  events: eventsCommand,
  streams: streamsCommand,
  image: imageCommand,
  demo: demoCommand,
  agent: agentCommand,
  backtest: (argv) => Effect.promise(() => backtestCommand(argv))
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
      ? commands[name]!(argv).pipe(Effect.provide(logs))
      : usage(`there is no command '${name}'`, help)

runMain(program, { disableErrorReporting: true })
