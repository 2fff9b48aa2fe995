import { Config, Option, Schema } from "effect"
import { defaultPhiAccrualConfig } from "../../domain/instance/phiAccrual.ts"
import { defaultPoolPolicy } from "../../domain/instance/poolPolicy.ts"
import { defaultSizingPolicy, type SizingPolicy } from "../../domain/instance/sizingPolicy.ts"
import { defaultUsageSizingPolicy } from "../../domain/instance/usageSizing.ts"
import { Weight } from "../../domain/launch/launch.ts"
import { defaultLaunchWorkflowPolicy, heartbeatLostAfter } from "../../domain/launch/launchWorkflow.ts"
import { defaultLaunchPolicy, launchRunnerDefaults } from "../../src/launch/launchRunner.ts"
import { defaultArchiveLimits } from "../stateTransfer/safeArchive.ts"
import type { OrchestratorOptions } from "../../src/orchestrator.ts"
import { defaultRecreationPolicy } from "../../src/instances/shadowPlacement.ts"
import { defaultSignalClockSkewMs } from "../../src/telemetry/signalDecoding.ts"

/** The orchestrator's settings (shadow sizing, pool, watchdog), from the environment, with the domain's defaults. */
export const OrchestratorConfig = Config.all({
  /** `off` runs the control plane without starting, watching or reconciling any shadow. */
  enabled: Config.Literals(["on", "off"], "UMBRA_ORCHESTRATOR").pipe(Config.withDefault("on" as const), Config.map((v) => v === "on")),
  shadowFraction: Config.Number("UMBRA_SHADOW_FRACTION").pipe(Config.withDefault(defaultSizingPolicy.fraction)),
  shadowMinCpuMillis: Config.Int("UMBRA_SHADOW_MIN_CPU_MILLIS").pipe(Config.withDefault(defaultSizingPolicy.floor.cpuMillis)),
  shadowMinMemoryMiB: Config.Int("UMBRA_SHADOW_MIN_MEMORY_MIB").pipe(Config.withDefault(defaultSizingPolicy.floor.memoryMiB)),
  poolSize: Config.Int("UMBRA_POOL_SIZE").pipe(Config.withDefault(defaultPoolPolicy.size)),
  heartbeatMs: Config.Int("UMBRA_HEARTBEAT_MS").pipe(Config.withDefault(defaultPhiAccrualConfig.expectedIntervalMs)),
  phiThreshold: Config.Number("UMBRA_PHI_THRESHOLD").pipe(Config.withDefault(defaultPhiAccrualConfig.threshold)),
  startupGraceMs: Config.Int("UMBRA_STARTUP_GRACE_MS").pipe(Config.withDefault(defaultPhiAccrualConfig.startupGraceMs)),
  recreateLimit: Config.Int("UMBRA_RECREATE_LIMIT").pipe(Config.withDefault(defaultRecreationPolicy.limit)),
  /** `off` leaves shadows at the size their profile gives, whatever they use. */
  usageSizing: Config.Literals(["on", "off"], "UMBRA_USAGE_SIZING").pipe(Config.withDefault("on" as const), Config.map((v) => v === "on")),
  usageWindowMs: Config.Int("UMBRA_USAGE_WINDOW_MS").pipe(Config.withDefault(defaultUsageSizingPolicy.windowMs)),
  usageCoolDownMs: Config.Int("UMBRA_USAGE_COOLDOWN_MS").pipe(Config.withDefault(defaultUsageSizingPolicy.coolDownMs)),
  usageGrowAbove: Config.Number("UMBRA_USAGE_GROW_ABOVE").pipe(Config.withDefault(defaultUsageSizingPolicy.growAbove)),
  usageShrinkBelow: Config.Number("UMBRA_USAGE_SHRINK_BELOW").pipe(Config.withDefault(defaultUsageSizingPolicy.shrinkBelow)),
  /** Production's share at each step of a launch, in percent, e.g. `5,25,50,100`. */
  launchSteps: Config.Array(Schema.NumberFromString.pipe(Schema.decodeTo(Weight)), "UMBRA_LAUNCH_STEPS").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.steps)),
  launchHoldMs: Config.Int("UMBRA_LAUNCH_HOLD_MS").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.holdMs)),
  launchMaxErrorRate: Config.Number("UMBRA_LAUNCH_MAX_ERROR_RATE").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.gates.maxErrorRate)),
  launchMaxP99Ms: Config.Int("UMBRA_LAUNCH_MAX_P99_MS").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.gates.maxP99Ms)),
  launchMaxHeartbeatP99Ms: Config.Int("UMBRA_LAUNCH_MAX_HEARTBEAT_P99_MS").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.gates.maxHeartbeatP99Ms)),
  launchMinRequests: Config.Int("UMBRA_LAUNCH_MIN_REQUESTS").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.gates.minRequests)),
  launchReadyTimeoutMs: Config.Int("UMBRA_LAUNCH_READY_TIMEOUT_MS").pipe(Config.withDefault(defaultLaunchWorkflowPolicy.readyTimeoutMs)),
  launchConcurrency: Config.Int("UMBRA_LAUNCH_CONCURRENCY").pipe(Config.withDefault(launchRunnerDefaults.maxConcurrentProvisioning)),
  transferMaxBytes: Config.Int("UMBRA_TRANSFER_MAX_BYTES").pipe(Config.withDefault(launchRunnerDefaults.transferMaxBytes)),
  /** `off`: production's agent does not read the profile's inferred dependencies into the page cache first. */
  preload: Config.Literals(["on", "off"], "UMBRA_PRELOAD").pipe(Config.withDefault("on" as const), Config.map((v) => v === "on"))
})
export type OrchestratorConfig = Config.Success<typeof OrchestratorConfig>

/** How many entries, and of them hard links, a state path's archive may hold in a transfer. */
export const TransferLimitsConfig = Config.all({
  maxEntries: Config.Int("UMBRA_TRANSFER_MAX_ENTRIES").pipe(Config.withDefault(defaultArchiveLimits.maxEntries)),
  maxHardLinks: Config.Int("UMBRA_TRANSFER_MAX_HARD_LINKS").pipe(Config.withDefault(defaultArchiveLimits.maxHardLinks))
})

/** The process runtime: whether every template may run on this host, and who workloads run as under root. */
export const ProcessRuntimeConfig = Config.all({
  trusted: Config.Boolean("UMBRA_PROCESS_RUNTIME_TRUSTED").pipe(Config.withDefault(false)),
  workloadUser: Config.String("UMBRA_PROCESS_RUNTIME_USER").pipe(Config.withDefault("nobody"))
})

/**
 * How Docker attaches instances: each client's own isolated network (the default), or the host's network,
 * which isolates nothing (for an engine where Umbra may not set its nftables rules).
 */
export const DockerRuntimeConfig = Config.all({
  network: Config.Literals(["client", "host"], "UMBRA_DOCKER_NETWORK").pipe(Config.withDefault("client" as const)),
  subnetPool: Config.String("UMBRA_CLIENT_SUBNET_POOL").pipe(Config.option, Config.map(Option.getOrUndefined))
})

/** How far a signal's `at` may be from this process's clock before the telemetry ingest and the archiver drop it. */
export const SignalClockSkewConfig = Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), "UMBRA_SIGNAL_CLOCK_SKEW_MS").pipe(
  Config.withDefault(defaultSignalClockSkewMs)
)

/** Shadows judged twenty times a window: a change comes at most a twentieth of a window after it is due. */
const usageSizing = (config: OrchestratorConfig, sizing: SizingPolicy): OrchestratorOptions["usageSizing"] =>
  config.usageSizing
    ? {
        policy: {
          ...defaultUsageSizingPolicy,
          windowMs: config.usageWindowMs,
          coolDownMs: config.usageCoolDownMs,
          growAbove: config.usageGrowAbove,
          shrinkBelow: config.usageShrinkBelow
        },
        sizing,
        checkEveryMs: Math.max(100, Math.round(config.usageWindowMs / 20))
      }
    : undefined

export const orchestratorOptions = (config: OrchestratorConfig, natsUrl: string): OrchestratorOptions => {
  const sizing = { fraction: config.shadowFraction, floor: { cpuMillis: config.shadowMinCpuMillis, memoryMiB: config.shadowMinMemoryMiB } }
  return {
    saga: { sizing, pool: { size: config.poolSize } },
    usageSizing: usageSizing(config, sizing),
    watchdog: {
      phi: {
        ...defaultPhiAccrualConfig,
        threshold: config.phiThreshold,
        expectedIntervalMs: config.heartbeatMs,
        acceptablePauseMs: config.heartbeatMs,
        startupGraceMs: config.startupGraceMs
      },
      checkEveryMs: Math.max(50, Math.round(config.heartbeatMs / 5))
    },
    recreation: { ...defaultRecreationPolicy, limit: config.recreateLimit },
    agent: { natsUrl, heartbeatMs: config.heartbeatMs },
    launch: {
      ...defaultLaunchPolicy({ natsUrl, heartbeatMs: config.heartbeatMs }, { size: config.poolSize }),
      steps: config.launchSteps,
      holdMs: config.launchHoldMs,
      gates: {
        maxErrorRate: config.launchMaxErrorRate,
        maxP99Ms: config.launchMaxP99Ms,
        minRequests: config.launchMinRequests,
        maxHeartbeatP99Ms: config.launchMaxHeartbeatP99Ms
      },
      readyTimeoutMs: config.launchReadyTimeoutMs,
      heartbeatLostMs: heartbeatLostAfter(config.heartbeatMs),
      maxConcurrentProvisioning: config.launchConcurrency,
      transferMaxBytes: config.transferMaxBytes,
      preloadDependencies: config.preload
    }
  }
}
