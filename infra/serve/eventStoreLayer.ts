import { Effect, Layer } from "effect"
import { join } from "node:path"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import type { UmbraConfig } from "../config.ts"
import * as sqlite from "../eventStore/sqliteEventStore.ts"

/**
 * The configured event store: SQLite under the data directory (the default), or KurrentDB. `serving`: the
 * store of a process that serves commands, whose SQLite writer starts with it rather than at the first append.
 */
export const eventStoreLayer = (config: UmbraConfig, options: { readonly serving?: boolean } = {}): Layer.Layer<EventStore, StoreUnavailable> => {
  if (config.eventStore === "sqlite") return sqlite.layer({ file: join(config.dataDir, "events.db"), startWriter: options.serving === true })
  if (config.kurrentUrl === undefined) {
    return Layer.effect(
      EventStore,
      Effect.fail(
        new StoreUnavailable({ message: "UMBRA_EVENT_STORE=kurrentdb needs KURRENTDB_URL (e.g. kurrentdb://127.0.0.1:2113?tls=false)" })
      )
    )
  }
  const url = config.kurrentUrl
  // Loaded only when chosen: the KurrentDB client (gRPC, protobuf) is a few hundred modules to load.
  return Layer.unwrap(Effect.promise(() => import("../eventStore/kurrentEventStore.ts")).pipe(Effect.map((kurrent) => kurrent.layer(url))))
}
