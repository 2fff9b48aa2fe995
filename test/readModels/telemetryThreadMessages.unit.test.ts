import { assert, describe, it } from "@effect/vitest"
import { tenantKey } from "../../domain/tenantKey.ts"
import { packBatch, unpackBatch } from "../../infra/readModels/telemetryThreadMessages.ts"

describe("telemetry batches crossing to the applier thread", () => {
  it("arrive as they were sent: times, values, metrics, instance and client keys (none for a pooled instance)", () => {
    const inputs = [
      { sample: { cpu: 0.25, memBytes: 1024 }, atMs: 1_700_000_000_123, instanceKey: tenantKey("acme", "shd-1"), clientKey: tenantKey("acme", "c1") },
      { sample: { cpu: 1.5, memBytes: 2048, metrics: { requests: 7, "queue.depth": -1 } }, atMs: 1_700_000_001_000, instanceKey: tenantKey("acme", "shd-2"), clientKey: undefined },
      { sample: { cpu: 3, memBytes: 4096 }, atMs: 1_700_000_002_000, instanceKey: tenantKey("beta", "shd-1"), clientKey: tenantKey("acme", "c1") }
    ]
    const { packed, transfer } = packBatch(7, { inputs, throughSeq: 42 })
    // Each key crosses once, however many samples name it; the numbers cross in buffers that are moved.
    assert.deepStrictEqual(packed.keys, ["acme.shd-1", "acme.c1", "acme.shd-2", "beta.shd-1"])
    assert.lengthOf(transfer, 5)
    assert.deepStrictEqual(unpackBatch(structuredClone(packed, { transfer: [...transfer] })), { inputs, throughSeq: 42 })
  })

  it("takes a sample's time from `at` when its decoder did not parse it", () => {
    const at = "2026-12-04T10:00:00.000Z"
    const { packed } = packBatch(1, { inputs: [{ sample: { cpu: 1, memBytes: 1, at }, instanceKey: tenantKey("acme", "shd-1"), clientKey: undefined }], throughSeq: 1 })
    assert.deepStrictEqual(unpackBatch(packed).inputs[0]?.atMs, Date.parse(at))
  })
})
