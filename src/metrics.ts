import { Context, Effect, type Scope } from "effect"
import type { StoreUnavailable } from "./eventStore/errors.ts"
import type { BusUnavailable, ConsumerState } from "./eventBus.ts"
import type { ProjectionPosition } from "./projections/projectionPositions.ts"
import type { RelayHealth } from "./relay.ts"

/** A command request the gateway answered. */
export interface HandledCommand {
  /** The subject's tenant; empty when it is no valid tenant (InvalidTenant). */
  readonly tenant: string
  /** A public command type, or "other" for a name that is none (so a sender cannot mint series). */
  readonly type: string
  /** "ok", "duplicate", or the error tag of the reply. */
  readonly outcome: string
  readonly seconds: number
}

/** How a client's forecasts of one metric have done lately, as the scaling engine recorded a forecast. */
export interface ForecastScore {
  readonly tenant: string
  readonly clientId: string
  readonly metric: string
  /** Share of the scored steps whose demand exceeded the provisioning bound. */
  readonly shortfall: number
  /** Share of the provision left unused over the scored steps. */
  readonly slack: number
  readonly scoredSteps: number
  /** The conservative policy sized the client, not the model. */
  readonly fallback: boolean
}

type Read<A> = Effect.Effect<A, StoreUnavailable | BusUnavailable>

// The readings below name only what is exposed, so that this port depends on none of the parts that
// record through it (the watchdog and the queries send commands, and the gateway records here).

export interface TelemetryIngestReading {
  readonly applied: number
  readonly dropped: number
  /** The last UMBRA_SIGNALS sequence folded into the telemetry read model. */
  readonly checkpoint: number
}

export interface WatchdogReading {
  readonly instances: ReadonlyArray<{ readonly tenant: string; readonly ready: boolean }>
  readonly badSignals: number
  /** Sustained rises of an instance's heartbeat round trips, each counted once. */
  readonly latencyRises: number
}

type Counts = Readonly<Record<string, number>>

/** A tenant's counts, as its summary (the Tenant query) has them. */
export interface TenantReading {
  readonly tenant: string
  readonly summary: {
    readonly clients: Counts
    readonly instances: { readonly byRole: Counts; readonly byState: Counts }
    readonly launches: Counts
  }
}

/**
 * What the metrics endpoint reads when it is scraped, never before: each is the running thing's own view.
 * Its series exist while it is registered.
 */
export type ScrapeSource =
  | { readonly _tag: "Relay"; readonly read: Read<RelayHealth> }
  | { readonly _tag: "Consumers"; readonly read: Read<ReadonlyArray<ConsumerState>> }
  | { readonly _tag: "DeadLetters"; readonly read: Read<ReadonlyMap<string, number>> }
  | { readonly _tag: "Projections"; readonly read: Read<ReadonlyArray<ProjectionPosition>> }
  | { readonly _tag: "TelemetryIngest"; readonly read: Read<TelemetryIngestReading> }
  | { readonly _tag: "Watchdog"; readonly read: Read<WatchdogReading> }
  | { readonly _tag: "Tenants"; readonly read: Read<ReadonlyArray<TenantReading>> }

export interface MetricsShape {
  readonly commandHandled: (command: HandledCommand) => Effect.Effect<void>
  readonly forecastRecorded: (score: ForecastScore) => Effect.Effect<void>
  /** Has the endpoint read `source` at each scrape until the scope closes. */
  readonly readAtScrape: (source: ScrapeSource) => Effect.Effect<void, never, Scope.Scope>
}

/** Nothing recorded, nothing read: what runs when no endpoint is there to scrape. */
const noMetrics: MetricsShape = {
  commandHandled: () => Effect.void,
  forecastRecorded: () => Effect.void,
  readAtScrape: () => Effect.void
}

/** Where the application records what Prometheus scrapes; tests and tools that do not care need not provide it. */
export const Metrics = Context.Reference<MetricsShape>("umbra/Metrics", { defaultValue: () => noMetrics })
