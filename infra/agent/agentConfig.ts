import { Config, Option, Schema } from "effect"
import { ClientId, InstanceId, TenantId } from "../../domain/ids.ts"
import { maxDependencyFiles } from "../../domain/signals.ts"

/** A comma-separated list of absolute paths in the environment (none when unset). */
const pathList = (name: string) =>
  Config.String(name).pipe(
    Config.withDefault(""),
    Config.map((paths) => paths.split(",").map((path) => path.trim()).filter((path) => path !== ""))
  )

const Millis = Schema.Int.check(Schema.isBetween({ minimum: 50, maximum: 3_600_000 }))

/** The agent's settings, from the environment of its instance (set by the instance runtime). */
export const AgentConfig = Config.all({
  natsUrl: Config.String("NATS_URL").pipe(Config.withDefault("nats://127.0.0.1:4222")),
  /** A `.creds` file the runtime handed over: the instance's own credentials (Umbra's own server mints them). */
  natsCreds: Config.option(Config.String("NATS_CREDS")).pipe(Config.map(Option.getOrUndefined)),
  /** Else a shared user and password (a server at NATS_URL that Umbra does not configure). */
  natsUser: Config.option(Config.String("NATS_USER")).pipe(Config.map(Option.getOrUndefined)),
  natsPassword: Config.option(Config.Redacted("NATS_PASSWORD")).pipe(Config.map(Option.getOrUndefined)),
  tenant: Config.schema(TenantId, "UMBRA_TENANT"),
  instanceId: Config.schema(InstanceId, "UMBRA_INSTANCE_ID"),
  heartbeatMs: Config.schema(Millis, "UMBRA_HEARTBEAT_MS").pipe(
    Config.withDefault(1_000)
  ),
  telemetryMs: Config.schema(Millis, "UMBRA_TELEMETRY_MS").pipe(
    Config.withDefault(5_000)
  ),
  clientId: Config.option(Config.schema(ClientId, "UMBRA_CLIENT_ID")).pipe(Config.map(Option.getOrUndefined)),
  /** Readiness: a URL, or a path on the instance's PORT (what images bake, since the port is given per instance). */
  readyUrl: Config.all({
    url: Config.option(Config.URL("UMBRA_READY_URL")),
    path: Config.option(Config.String("UMBRA_READY_PATH")),
    port: Config.option(Config.Port("PORT"))
  }).pipe(
    Config.map(({ url, path, port }) =>
      Option.getOrUndefined(
        Option.orElse(url, () => Option.zipWith(path, port, (p, n) => new URL(`http://127.0.0.1:${n}${p.startsWith("/") ? p : `/${p}`}`)))
      )
    )
  ),
  statePaths: pathList("UMBRA_STATE_PATHS"),
  /** Scratch space of the instance alone (a container's /tmp): emptied with the state when it is recycled. */
  scratchPaths: pathList("UMBRA_SCRATCH_PATHS"),
  /** Files to read into the page cache before the workload starts (a JSON array of absolute paths): production's inferred dependencies. */
  preloadFiles: Config.schema(Schema.fromJsonString(Schema.Array(Schema.String).check(Schema.isMaxLength(maxDependencyFiles))), "UMBRA_PRELOAD_FILES").pipe(
    Config.withDefault([])
  ),
  metricsFile: Config.option(Config.String("UMBRA_METRICS_FILE")).pipe(Config.map(Option.getOrUndefined)),
  /** A command line (split on spaces) the agent starts and supervises: the instance's workload. */
  workload: Config.option(Config.String("UMBRA_WORKLOAD")).pipe(
    Config.map(Option.map((line) => line.split(/\s+/).filter((word) => word !== ""))),
    Config.map(Option.getOrUndefined)
  ),
  /** `cgroup` (containers), `process` (the process runtime: a cgroup there would be the host's) or `auto`. */
  usageSource: Config.Literals(["auto", "cgroup", "process"], "UMBRA_USAGE_SOURCE").pipe(Config.withDefault("auto" as const)),
  logLevel: Config.String("UMBRA_LOG_LEVEL").pipe(Config.withDefault("info"))
})
export type AgentConfig = Config.Success<typeof AgentConfig>
