import { Config, Option, Schema } from "effect"
import { defaultAckWaitMs } from "./nats/natsEventBus.ts"

/** Every setting of `umbra serve`, from the environment; the README's configuration table mirrors this. */
export const UmbraConfig = Config.all({
  natsUrl: Config.String("NATS_URL").pipe(Config.withDefault("nats://127.0.0.1:4222")),
  dataDir: Config.String("UMBRA_DATA_DIR").pipe(Config.withDefault("./.umbra")),
  eventStore: Config.Literals(["sqlite", "kurrentdb"], "UMBRA_EVENT_STORE").pipe(Config.withDefault("sqlite" as const)),
  kurrentUrl: Config.option(Config.String("KURRENTDB_URL")).pipe(Config.map(Option.getOrUndefined)),
  runtime: Config.option(Config.Literals(["docker", "process"], "UMBRA_RUNTIME")).pipe(Config.map(Option.getOrUndefined)),
  logLevel: Config.String("UMBRA_LOG_LEVEL").pipe(Config.withDefault("info")),
  logFormat: Config.option(Config.Literals(["json", "pretty"], "UMBRA_LOG_FORMAT")).pipe(Config.map(Option.getOrUndefined)),
  commandMaxBytes: Config.Int("UMBRA_COMMAND_MAX_BYTES").pipe(Config.withDefault(256 * 1024)),
  duplicateWindowSeconds: Config.Int("UMBRA_DUPLICATE_WINDOW_SECONDS").pipe(Config.withDefault(600)),
  publishWindow: Config.Int("UMBRA_PUBLISH_WINDOW").pipe(Config.withDefault(100)),
  // How long a durable consumer's delivery may go unacknowledged: what a crash left is redelivered after it.
  ackWaitMs: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1_000, maximum: 3_600_000 })), "UMBRA_ACK_WAIT_MS").pipe(Config.withDefault(defaultAckWaitMs)),
  scalingIntervalMs: Config.Int("UMBRA_SCALING_INTERVAL_MS").pipe(Config.withDefault(60_000)),
  // The HTTP endpoint (/metrics), on loopback unless told otherwise; port 0 takes a free one.
  httpHost: Config.String("UMBRA_HTTP_HOST").pipe(Config.withDefault("127.0.0.1")),
  httpPort: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })), "UMBRA_HTTP_PORT").pipe(Config.withDefault(8080))
})
export type UmbraConfig = Config.Success<typeof UmbraConfig>

/**
 * How Umbra reaches NATS. Without NATS_URL, `umbra serve` runs its own authenticated server on
 * UMBRA_NATS_PORT and the CLI finds it, and Umbra's credentials, in UMBRA_DATA_DIR. With NATS_URL, NATS_CREDS
 * or NATS_USER/NATS_PASSWORD authenticate.
 */
export const NatsAccessConfig = Config.all({
  url: Config.option(Config.String("NATS_URL")).pipe(Config.map((url) => Option.getOrUndefined(Option.filter(url, (set) => set !== "")))),
  port: Config.Port("UMBRA_NATS_PORT").pipe(Config.withDefault(4222)),
  creds: Config.option(Config.String("NATS_CREDS")).pipe(Config.map(Option.getOrUndefined)),
  user: Config.option(Config.String("NATS_USER")).pipe(Config.map(Option.getOrUndefined)),
  password: Config.option(Config.Redacted("NATS_PASSWORD")).pipe(Config.map(Option.getOrUndefined)),
  // What the instance agents connect with to the server at NATS_URL (Umbra's own server makes its own).
  agentUser: Config.option(Config.String("UMBRA_AGENT_NATS_USER")).pipe(Config.map(Option.getOrUndefined)),
  agentPassword: Config.option(Config.Redacted("UMBRA_AGENT_NATS_PASSWORD")).pipe(Config.map(Option.getOrUndefined))
})
export type NatsAccessConfig = Config.Success<typeof NatsAccessConfig>
