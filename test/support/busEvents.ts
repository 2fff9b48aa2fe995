import type { StoredEvent } from "../../domain/envelope.ts"

/** `count` stored events of `tenant` over five instance streams, as the relay would publish them. */
export const makeEvents = (tenant: string, count: number, prefix = "e"): ReadonlyArray<StoredEvent> =>
  Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${tenant}-${i}`,
    type: i % 2 === 0 ? "InstanceStarted" : "InstanceReady",
    stream: `instance-${tenant}.shd-${i % 5}`,
    revision: Math.floor(i / 5),
    position: String(i).padStart(20, "0") as StoredEvent["position"],
    at: "2025-01-01T00:00:00.000Z",
    tenant,
    correlationId: "corr",
    causationId: `cmd-${i}`,
    schemaVersion: 1,
    data: { i, note: "x".repeat(50) }
  }))
