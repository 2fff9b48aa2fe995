/** How long the demo plays and waits; `--fast` shortens holds and windows (for tests), never what is shown. */
export interface DemoSettings {
  /** 5-minute steps of telemetry played back per client (a day, or half of one). */
  readonly historySteps: number
  /** The control plane's settings for the demo, on top of the environment's (as variables of the README's table). */
  readonly config: Readonly<Record<string, string>>
  readonly timeoutsMs: {
    readonly shadowsReady: number
    readonly forecasts: number
    readonly refinement: number
    readonly launchStage: number
    readonly recreated: number
  }
  /** The load generator: keep-alive clients on the client's loopback endpoint, bounded in count and time. */
  readonly load: { readonly clients: number; readonly maxRequests: number; readonly maxMs: number; readonly pauseMs: number }
}

const stepMs = 5 * 60_000

export const demoSettings = (fast: boolean): DemoSettings => {
  const historySteps = fast ? 144 : 288
  return {
    historySteps,
    config: {
      // The engine looks for new 5-minute buckets every few seconds instead of every minute.
      UMBRA_SCALING_INTERVAL_MS: fast ? "1000" : "3000",
      // Played-back samples are stamped up to the history's length in the past.
      UMBRA_SIGNAL_CLOCK_SKEW_MS: String((historySteps + 12) * stepMs),
      UMBRA_LAUNCH_HOLD_MS: fast ? "1000" : "4000",
      UMBRA_LAUNCH_MIN_REQUESTS: fast ? "10" : "20"
    },
    timeoutsMs: {
      shadowsReady: 120_000,
      forecasts: 60_000,
      refinement: fast ? 10_000 : 30_000,
      launchStage: 90_000,
      recreated: 60_000
    },
    load: { clients: 4, maxRequests: 100_000, maxMs: 180_000, pauseMs: fast ? 5 : 2 }
  }
}
