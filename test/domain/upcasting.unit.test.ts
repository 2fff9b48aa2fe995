import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeEvent, DomainEvent, encodeEvent, schemaVersionOf } from "../../domain/catalog.ts"
import { decodeCommand, type DomainCommand } from "../../domain/commands.ts"
import type { ClientId, InstanceId } from "../../domain/ids.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { chainGaps, makeUpcast, upcaster } from "../../domain/upcasters.ts"

const refinedV1 = (reason: string) => ({
  id: "evt-1",
  type: "ProfileRefined",
  schemaVersion: 1,
  data: { clientId: "c1", expected: tierDefaults.premium, previous: tierDefaults.standard, reason }
})

const refusal = (stored: Parameters<typeof decodeEvent>[0]) =>
  Effect.map(Effect.flip(decodeEvent(stored)), (error) => ({ tag: error._tag, message: error.message, details: error.details }))

describe("upcasting", () => {
  it.effect("a v1 ProfileRefined reads as v2: the scaling engine's reasons as scaling, any other as manual", () =>
    Effect.gen(function* () {
      const cases = [
        ["forecast: 60-minute provisioning bound 1.200 cores, 2048 MiB", "scaling"],
        ["fallback: the model did worse than the last value lately; recent peak plus 20 %", "scaling"],
        ["load test tonight", "manual"],
        ["forecast", "manual"]
      ] as const
      for (const [reason, source] of cases) {
        assert.deepStrictEqual(yield* decodeEvent(refinedV1(reason)), {
          _tag: "ProfileRefined",
          clientId: "c1" as ClientId,
          expected: tierDefaults.premium,
          previous: tierDefaults.standard,
          reason,
          source
        })
      }
    }))

  it.effect("writers stamp v2, which reads back as written", () =>
    Effect.gen(function* () {
      const event = { _tag: "ProfileRefined", clientId: "c1" as ClientId, expected: tierDefaults.premium, previous: tierDefaults.standard, reason: "r", source: "manual" } as const
      const encoded = encodeEvent(event)
      assert.strictEqual(encoded.schemaVersion, 2)
      assert.strictEqual(schemaVersionOf("ProfileRefined"), 2)
      assert.deepStrictEqual(yield* decodeEvent({ id: "evt-2", ...encoded }), event)
    }))

  it.effect("an event of a version newer than this Umbra knows is refused, naming it and its version", () =>
    Effect.gen(function* () {
      const refused = yield* refusal({ ...refinedV1("r"), id: "evt-3", schemaVersion: 3 })
      assert.strictEqual(refused.tag, "ValidationFailed")
      assert.match(refused.message, /event evt-3 has type ProfileRefined v3, which this version of Umbra cannot read/)
      assert.deepStrictEqual(refused.details, { id: "evt-3", type: "ProfileRefined", schemaVersion: 3 })
      for (const schemaVersion of [0, -1, 1.5]) {
        assert.strictEqual((yield* refusal({ ...refinedV1("r"), schemaVersion })).tag, "ValidationFailed", `v${schemaVersion}`)
      }
    }))

  it.effect("a v1 event that does not match the v1 schema is refused naming its id, never cast", () =>
    Effect.gen(function* () {
      const { previous: _, ...withoutPrevious } = refinedV1("r").data
      const refused = yield* refusal({ ...refinedV1("r"), id: "evt-4", data: withoutPrevious })
      assert.strictEqual(refused.tag, "ValidationFailed")
      assert.match(refused.message, /^event evt-4 \(ProfileRefined v1\) cannot be read as v2: it does not match v1/)
      assert.include(refused.message, "previous")
      assert.deepStrictEqual(refused.details, { id: "evt-4", type: "ProfileRefined", schemaVersion: 1, failedFrom: 1 })
      assert.strictEqual((yield* refusal({ ...refinedV1("r"), id: "evt-5", data: "not an object" })).tag, "ValidationFailed")
    }))

  it.effect("a v2 event without its source is refused: only older versions are upcast", () =>
    Effect.gen(function* () {
      const refused = yield* refusal({ ...refinedV1("forecast: x"), id: "evt-6", schemaVersion: 2 })
      assert.strictEqual(refused.tag, "ValidationFailed")
      assert.include(refused.message, "evt-6")
      assert.deepStrictEqual(refused.details, { id: "evt-6", type: "ProfileRefined" })
    }))

  it.effect("a v1 saga step reads as v2: its input event was written at version 1", () =>
    Effect.gen(function* () {
      const input = { eventId: "evt-7", type: "ClientDisconnected", stream: "client-acme.c1", data: { clientId: "c1", reason: "bye" } }
      const step = yield* decodeEvent({ id: "evt-8", type: "SagaStepRecorded", schemaVersion: 1, data: { saga: "shadow", input, commands: [] } })
      assert.deepStrictEqual(step, { _tag: "SagaStepRecorded", saga: "shadow", input: { ...input, schemaVersion: 1 }, commands: [] })
    }))

  it.effect("v1 and v2 heartbeats read as v3 without `warming` (their agents did not say), and v3 reads back as written", () =>
    Effect.gen(function* () {
      const v1 = { instanceId: "shd-1" as InstanceId, seq: 3, at: "2026-01-01T00:00:00.000Z", ready: false, recordedAt: "2026-01-01T00:00:01.000Z" }
      const read = (schemaVersion: number, data: object) => decodeEvent({ id: `hb-${schemaVersion}`, type: "HeartbeatRecorded", schemaVersion, data })
      assert.deepStrictEqual(yield* read(1, v1), { _tag: "HeartbeatRecorded", ...v1 })
      assert.deepStrictEqual(yield* read(2, { ...v1, rttMs: 4 }), { _tag: "HeartbeatRecorded", ...v1, rttMs: 4 })
      assert.strictEqual(schemaVersionOf("HeartbeatRecorded"), 3)
      assert.deepStrictEqual(yield* read(3, { ...v1, rttMs: 4, warming: true }), { _tag: "HeartbeatRecorded", ...v1, rttMs: 4, warming: true })
    }))

  it.effect("a v1 InstanceResized reads as v2 with the only reason a resize then had, and v2 reads back as written", () =>
    Effect.gen(function* () {
      const v1 = { instanceId: "shd-1" as InstanceId, resources: { cpuMillis: 500, memoryMiB: 512 }, previous: { cpuMillis: 250, memoryMiB: 256 } }
      const read = (schemaVersion: number, data: object) => decodeEvent({ id: `rs-${schemaVersion}`, type: "InstanceResized", schemaVersion, data })
      assert.deepStrictEqual(yield* read(1, v1), { _tag: "InstanceResized", ...v1, reason: "profile refined" })
      assert.strictEqual(schemaVersionOf("InstanceResized"), 2)
      const v2 = { ...v1, reason: "observed use: cpu p90 412m of 250m, memory p90 100 MiB of 256 MiB over 5 min" }
      assert.deepStrictEqual(yield* read(2, v2), { _tag: "InstanceResized", ...v2 })
      assert.deepStrictEqual(encodeEvent({ _tag: "InstanceResized", ...v2 }), { type: "InstanceResized", schemaVersion: 2, data: v2 })
      assert.strictEqual((yield* refusal({ id: "rs-3", type: "InstanceResized", schemaVersion: 1, data: { instanceId: "shd-1" } })).tag, "ValidationFailed")
    }))

  it.effect("a ResizeInstance recorded in a saga step before resizes said why reads with the shadow saga's reason", () =>
    Effect.gen(function* () {
      const data = { instanceId: "shd-1", resources: { cpuMillis: 500, memoryMiB: 512 } }
      assert.deepStrictEqual(yield* decodeCommand("ResizeInstance", data, "cmd-1")!, { _tag: "ResizeInstance", ...data, reason: "profile refined" } as DomainCommand)
      assert.deepStrictEqual(yield* decodeCommand("ResizeInstance", { ...data, reason: "observed use" }, "cmd-2")!, { _tag: "ResizeInstance", ...data, reason: "observed use" } as DomainCommand)
    }))

  it.effect("an event two versions old goes through both steps, each checked against its own version's schema", () =>
    Effect.gen(function* () {
      const V1 = Schema.Struct({ a: Schema.Number })
      const V2 = Schema.Struct({ a: Schema.Number, b: Schema.String })
      const upcast = makeUpcast([
        upcaster("Thing", 1, V1, (v1) => ({ ...v1, b: "from v1" })),
        upcaster("Thing", 2, V2, (v2) => ({ ...v2, c: v2.a * 2 }))
      ])
      assert.deepStrictEqual(yield* upcast({ id: "t1", type: "Thing", schemaVersion: 1, data: { a: 1 } }, 3), { a: 1, b: "from v1", c: 2 })
      assert.deepStrictEqual(yield* upcast({ id: "t2", type: "Thing", schemaVersion: 2, data: { a: 2, b: "x" } }, 3), { a: 2, b: "x", c: 4 })
      const refused = yield* Effect.flip(upcast({ id: "t3", type: "Thing", schemaVersion: 2, data: { a: 3 } }, 3))
      assert.deepStrictEqual(refused.details, { id: "t3", type: "Thing", schemaVersion: 2, failedFrom: 2 })
      const noWayUp = yield* Effect.flip(makeUpcast([])({ id: "t4", type: "Thing", schemaVersion: 1, data: { a: 4 } }, 2))
      assert.match(noWayUp.message, /^event t4 \(Thing v1\) cannot be read as v2: no upcaster from v1$/)
    }))

  it("every event type has a full chain of upcasters up to its current version", () => {
    // The catalog refuses to load otherwise; this says which step is missing when that happens.
    const types = DomainEvent.members.map((member) => member.fields._tag.schema.literal)
    assert.include(types, "ProfileRefined")
    assert.deepStrictEqual(chainGaps(new Map(types.map((type) => [type, schemaVersionOf(type)]))), [])
  })

  it("a version bumped without its upcaster, or a step that leads nowhere, is a gap", () => {
    const step = (type: string, from: number) => upcaster(type, from, Schema.Struct({}), (old) => old)
    assert.deepStrictEqual(chainGaps(new Map([["A", 3]]), [step("A", 1)]), ["no upcaster A v2→v3"])
    assert.deepStrictEqual(chainGaps(new Map([["A", 2]]), [step("A", 1), step("A", 1)]), ["more than one upcaster A v1"])
    assert.deepStrictEqual(chainGaps(new Map([["A", 1]]), [step("A", 1), step("B", 1)]), [
      "the upcaster A v1 is for no version before the current one",
      "the upcaster B v1 is for no version before the current one"
    ])
  })
})
