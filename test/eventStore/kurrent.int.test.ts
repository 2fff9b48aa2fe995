/**
 * The shared EventStore suite against the KurrentDB adapter: once over the wire-level stand-in (always), and
 * once against a real server when KURRENTDB_URL is set (e.g. `kurrentdb://admin:changeit@127.0.0.1:2113?tls=false`).
 * Without KURRENTDB_URL that second suite is not registered at all, so it never shows as skipped.
 * The stand-in keeps time by the suite's TestClock; a real server ages events by its own clock, so against it
 * the max-age cases wait real seconds.
 */
import { ConfigProvider, Effect, Layer } from "effect"
import { UmbraConfig } from "../../infra/config.ts"
import { layer } from "../../infra/eventStore/kurrentEventStore.ts"
import { eventStoreLayer } from "../../infra/serve/eventStoreLayer.ts"
import { KurrentStandIn } from "../kurrent/standIn.ts"
import { eventStoreConformance } from "./conformance.ts"

// Reached as `umbra serve` reaches a KurrentDB: the event store its configuration names.
const overStandIn = Layer.unwrap(
  Effect.gen(function* () {
    const standIn = yield* KurrentStandIn.scoped
    return eventStoreLayer(yield* UmbraConfig.parse(ConfigProvider.fromUnknown({ UMBRA_EVENT_STORE: "kurrentdb", KURRENTDB_URL: standIn.connectionString })))
  })
)

// KurrentDB checks event-id idempotency only within a stream.
eventStoreConformance("kurrentdb (stand-in)", overStandIn, { uniqueIdsAcrossStreams: false, time: "test" })

const realServer = process.env["KURRENTDB_URL"]
if (realServer !== undefined && realServer !== "") {
  eventStoreConformance("kurrentdb (real server)", layer(realServer), { uniqueIdsAcrossStreams: false, time: "real" })
}
