import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result, Schema } from "effect"
import fc from "fast-check"
import { DomainEvent } from "../../domain/catalog.ts"
import { Heartbeat, HeartbeatRecorded, TelemetrySample } from "../../domain/signals.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { scenario } from "../replay/scenario.ts"
import { compiledDecoder } from "../../domain/compiledDecoder.ts"

/** Values near and across each field's bounds, of the right type and of others. */
const anyValue = fc.oneof(
  fc.constantFrom("shd-1", "c-7", "Shd", "HeartbeatRecorded", "HeartbeatLost", "", "a".repeat(65), "2026-12-02T12:00:00.000Z", "2026-12-02T12:00:00Z", "2026-13-45T99:99:99Z", "2026-12-02T12:00:00+02:00", "now"),
  fc.constantFrom(0, -0, -1, 0.5, 4096, 4097, 2 ** 46, 2 ** 47, Number.NaN, Number.POSITIVE_INFINITY, 3.7),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant([1]),
  fc.dictionary(fc.constantFrom("requests", "bad name!", "_q.p50", "9lives", "__proto__"), fc.oneof(fc.double(), fc.constant("7")), { maxKeys: 4 })
)
const fields = ["instanceId", "clientId", "at", "cpu", "memBytes", "metrics", "seq", "ready", "rttMs", "warming", "extra", "_tag", "recordedAt"]
const valid = {
  instanceId: "shd-1", clientId: "c1", at: "2026-12-02T12:00:00.000Z", cpu: 0.5, memBytes: 1024, seq: 3, ready: true,
  _tag: "HeartbeatRecorded", recordedAt: "2026-12-02T12:00:00.010Z"
}
/** Valid signals with some fields removed or replaced by any value, and anything else. */
const input = fc.oneof(
  fc.record(Object.fromEntries(fields.map((field) => [field, fc.option(anyValue, { nil: undefined })])), { requiredKeys: [] }).map((changes) => {
    const signal: Record<string, unknown> = { ...valid }
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined) delete signal[field]
      else signal[field] = value
    }
    return signal
  }),
  anyValue
)

const same = (schema: Schema.Top, value: unknown) => {
  const expected = Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)(value)
  const actual = compiledDecoder(schema)(value)
  assert.strictEqual(Result.isSuccess(actual), Result.isSuccess(expected), JSON.stringify(value))
  // The same keys in the same order, and the same values.
  if (Result.isSuccess(actual) && Result.isSuccess(expected)) assert.strictEqual(JSON.stringify(actual.success), JSON.stringify(expected.success))
  if (Result.isSuccess(actual) && Result.isSuccess(expected)) assert.deepStrictEqual(actual.success, expected.success)
}

describe("compiled decoders", () => {
  const role = Schema.Struct({
    role: Schema.Literals(["shadow", "production"]),
    weight: Schema.optionalKey(Schema.Union([Schema.Literal(0), Schema.Int])),
    paths: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMinLength(2))).check(Schema.isMaxLength(2)))
  })

  it("compile the heartbeat, the telemetry sample, the archived heartbeat (a tagged event) and unions of literals", () => {
    assert.isTrue(compiledDecoder(TelemetrySample).compiled)
    assert.isTrue(compiledDecoder(Heartbeat).compiled)
    assert.isTrue(compiledDecoder(HeartbeatRecorded).compiled)
    assert.isTrue(compiledDecoder(role).compiled)
  })

  it("decode exactly as the schema does, whatever the input", () => {
    fc.assert(fc.property(input, (value) => {
      same(TelemetrySample, value)
      same(Heartbeat, value)
      same(HeartbeatRecorded, value)
    }), { numRuns: 3_000 })
    const roles = fc.record({
      role: fc.constantFrom("shadow", "production", "pooled", 0, undefined),
      weight: fc.constantFrom(0, 1, 0.5, -3, "0", undefined),
      paths: fc.oneof(fc.array(fc.constantFrom("/a", "/bc", "x", 3, null), { maxLength: 3 }), fc.constantFrom("/a", undefined, {}))
    }, { requiredKeys: [] })
    fc.assert(fc.property(roles, (value) => same(role, value)), { numRuns: 500 })
  })

  it("take a valid sample with metrics as the schema does, extra keys left out", () => {
    same(TelemetrySample, { ...valid, metrics: { requests: 7, "q.p99": 0.25 }, extra: 1 })
  })

  it.effect("decode every event of a log (clients, profiles, shadows, heartbeats, a launch) as their schemas do", () =>
    Effect.gen(function* () {
      yield* scenario
      const log = yield* EventStore.use((store) => store.readAll())
      const schemaOf = new Map(DomainEvent.members.map((member) => [member.fields._tag.schema.literal as string, member]))
      for (const event of log) {
        const schema = schemaOf.get(event.type)!
        const data = { ...(event.data as object), _tag: event.type }
        same(schema, data)
        assert.isTrue(Result.isSuccess(compiledDecoder(schema)(data)), event.type)
      }
      // Most event types compile now: lists of one kind of item, literals and their unions.
      const compiled = [...new Set(log.map((event) => event.type))].filter((type) => compiledDecoder(schemaOf.get(type)!).compiled)
      assert.isAbove(compiled.length, 15, compiled.join(", "))
    }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)))))
})
