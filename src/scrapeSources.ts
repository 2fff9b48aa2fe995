import { Effect } from "effect"
import { tenant as tenantModel } from "../projections/tenant.ts"
import { DeadLetters } from "./deadLetters.ts"
import type { StoreUnavailable } from "./eventStore/errors.ts"
import type { EventStore } from "./eventStore/eventStore.ts"
import { EventBus } from "./eventBus.ts"
import type { Watchdog } from "./instances/watchdog.ts"
import { Metrics } from "./metrics.ts"
import { live } from "./projections/liveIndex.ts"
import { ProjectionProgress } from "./projections/projectionProgress.ts"
import { projectionPositions } from "./projections/projectionPositions.ts"
import type { ProjectionStore } from "./projections/projectionStore.ts"
import { tenantSummary } from "./queries/tenantQuery.ts"
import type { RelayHealth } from "./relay.ts"
import type { IngestStatus } from "./telemetry/telemetryIngest.ts"
import { TelemetryReadModel } from "./telemetry/telemetryReadModel.ts"

/**
 * Has the metrics endpoint read, at each scrape while the scope is open, the control plane's relay, the
 * durable consumers with their dead letters, every projection, the telemetry ingest, and the summary of
 * each tenant the live index knows (which the orchestrator keeps folding).
 */
export const readControlPlaneAtScrape = Effect.fn("Metrics.readControlPlane")(function* (
  relay: { readonly health: Effect.Effect<RelayHealth, StoreUnavailable> },
  ingest: { readonly status: Effect.Effect<IngestStatus> }
) {
  const metrics = yield* Metrics
  const bus = yield* EventBus
  const deadLetters = yield* DeadLetters
  const telemetry = yield* TelemetryReadModel
  const stores = yield* Effect.context<EventStore | ProjectionStore>()
  yield* metrics.readAtScrape({ _tag: "Relay", read: relay.health })
  yield* metrics.readAtScrape({ _tag: "Consumers", read: bus.consumers })
  yield* metrics.readAtScrape({ _tag: "DeadLetters", read: deadLetters.parked })
  yield* metrics.readAtScrape({ _tag: "Projections", read: Effect.provideContext(projectionPositions, stores) })
  yield* metrics.readAtScrape({ _tag: "Tenants", read: Effect.provideContext(tenantReadings, stores) })
  yield* metrics.readAtScrape({
    _tag: "TelemetryIngest",
    read: Effect.all({ status: ingest.status, checkpoint: telemetry.checkpoint() }).pipe(Effect.map(({ status, checkpoint }) => ({ ...status, checkpoint })))
  })
})

/** None while the tenant read model rebuilds: its counts would be partial, not current. */
const tenantReadings = Effect.gen(function* () {
  if ((yield* ProjectionProgress).has(tenantModel.name)) return []
  const tenants = [...(yield* live.tenants)].sort()
  return yield* Effect.forEach(tenants, (tenant) => tenantSummary(tenant).pipe(Effect.map((summary) => ({ tenant, summary }))))
})

/** The same for the watchdog: the instances whose heartbeats it tracks. */
export const readWatchdogAtScrape = (watchdog: Watchdog) =>
  Metrics.use((metrics) =>
    metrics.readAtScrape({
      _tag: "Watchdog",
      read: Effect.all({ instances: watchdog.watched, badSignals: watchdog.badSignals, latencyRises: watchdog.latencyRises })
    })
  )
