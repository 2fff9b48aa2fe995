import { Effect, Layer, Redacted, Schedule } from "effect"
import { parseArgs } from "node:util"
import { AgentConfig } from "../agent/agentConfig.ts"
import { readCredentialsFile } from "../agent/credentialsFile.ts"
import { runAgent } from "../agent/agent.ts"
import * as logging from "../logging/logger.ts"
import * as NatsConnectionLayer from "../nats/connection.ts"
import { exitCodesHelp, print, usage } from "./terminal.ts"

export const agentHelp = `Usage: umbra agent

The agent inside an instance: publishes heartbeats on umbra.sig.<tenant>.<instanceId>.hb and telemetry on
umbra.sig.<tenant>.<instanceId>.tm, answers control requests on umbra.ctl.<tenant>.<instanceId>
({"op": "statePaths" | "prepareTransfer" | "drain"}), and supervises the workload when UMBRA_WORKLOAD is set.
SIGTERM drains (a last heartbeat says not ready), stops the workload and exits 0. Runtimes start it. Example, by hand:
  UMBRA_TENANT=acme UMBRA_INSTANCE_ID=shd-1 NATS_CREDS=shd-1.creds umbra agent

Environment:
  NATS_URL              default nats://127.0.0.1:4222 (reconnects forever)
  NATS_CREDS            optional path of the instance's .creds file (else NATS_USER / NATS_PASSWORD)
  UMBRA_TENANT          required
  UMBRA_INSTANCE_ID     required
  UMBRA_HEARTBEAT_MS    default 1000
  UMBRA_TELEMETRY_MS    default 5000
  UMBRA_READY_URL       optional; ready when it answers 2xx (without it: ready once started)
  UMBRA_STATE_PATHS     comma-separated state directories
  UMBRA_METRICS_FILE    optional JSON file of numeric metrics written by the workload
  UMBRA_WORKLOAD        optional command line (split on spaces) started and supervised by the agent
  UMBRA_USAGE_SOURCE    auto (cgroup v1, v2, else the process) | cgroup | process

${exitCodesHelp("drained and stopped on SIGTERM", "the configuration is invalid or the agent failed (logged on stderr)")}`

/** Until NATS first answers the agent keeps trying; after that the client reconnects by itself. */
const firstConnect = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")])

export const agentCommand = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function* () {
    const { values } = parseArgs({ args: [...argv], options: { help: { type: "boolean" } }, strict: false })
    if (values.help === true) return yield* print(agentHelp).pipe(Effect.as(0))
    if (argv.length > 0) return yield* usage(`agent takes no arguments (got ${argv.join(" ")})`, agentHelp)
    const config = yield* AgentConfig
    const creds = config.natsCreds === undefined ? undefined : yield* readCredentialsFile(config.natsCreds)
    const program = Effect.gen(function* () {
      const nats = yield* Layer.build(NatsConnectionLayer.layer({
          url: config.natsUrl,
          name: `umbra-agent-${config.instanceId}`,
          ...(creds === undefined ? {} : { creds }),
          ...(config.natsUser === undefined ? {} : { user: config.natsUser }),
          ...(config.natsPassword === undefined ? {} : { password: Redacted.value(config.natsPassword) })
        })).pipe(
        Effect.tapError((error) => Effect.logWarning(error.message)),
        Effect.retry(firstConnect)
      )
      return yield* runAgent(config).pipe(Effect.provide(nats))
    }).pipe(Effect.scoped, Effect.annotateLogs({ component: "agent", tenant: config.tenant, instanceId: config.instanceId }))
    return yield* program.pipe(Effect.provide(logging.layer({ level: config.logLevel, format: "json" })))
  }).pipe(
    Effect.catch((error) => Effect.logError(`agent: ${error.message}`).pipe(Effect.as(1)))
  )
