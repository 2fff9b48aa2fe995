import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { InstanceId } from "../../domain/ids.ts"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteTelemetry from "../../infra/readModels/sqliteTelemetry.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { tenantKey } from "../../domain/tenantKey.ts"

const at = (minute: number, second: number) => new Date(Date.UTC(2026, 10, 30, 12, minute, second)).toISOString()
const input = (minute: number, second: number, cpu: number) => ({
  sample: { instanceId: "shd-1" as InstanceId, at: at(minute, second), cpu, memBytes: 2048 },
  instanceKey: tenantKey("acme", "shd-1"),
  clientKey: tenantKey("acme", "c1")
})

describe("SQLite telemetry read model", () => {
  it.effect("keeps its rows and its checkpoint together across a reopen", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "umbra-telemetry-"))
      const model = sqliteTelemetry.layer.pipe(Layer.provide(ReadModelDatabase.layer(join(dir, "readmodels.db"))))
      yield* Effect.gen(function* () {
        const telemetry = yield* TelemetryReadModel
        assert.strictEqual(yield* telemetry.checkpoint(), 0)
        yield* telemetry.apply([input(0, 0, 1), input(0, 30, 3)], 2)
        yield* telemetry.apply([input(1, 0, 5)], 3)
      }).pipe(Effect.provide(model))
      const reopened = yield* Effect.gen(function* () {
        const telemetry = yield* TelemetryReadModel
        return {
          checkpoint: yield* telemetry.checkpoint(),
          minutes: yield* telemetry.series({ scope: "client", key: tenantKey("acme", "c1"), metric: "cpu", size: "1m" }),
          fives: yield* telemetry.series({ scope: "instance", key: tenantKey("acme", "shd-1"), metric: "cpu", size: "5m" })
        }
      }).pipe(Effect.provide(model))
      rmSync(dir, { recursive: true, force: true })
      assert.strictEqual(reopened.checkpoint, 3)
      assert.deepStrictEqual(reopened.minutes.map((m) => [m.count, m.mean, m.max]), [[2, 2, 3], [1, 5, 5]])
      assert.deepStrictEqual(reopened.fives.map((f) => [f.count, f.mean, f.max, f.p95]), [[3, 3, 5, 5]])
    }))
})
