import { layer } from "../../infra/eventStore/memoryEventStore.ts"
import { eventStoreConformance } from "./conformance.ts"

eventStoreConformance("in-memory", layer, { uniqueIdsAcrossStreams: true, time: "test" })
