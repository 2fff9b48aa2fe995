import fc from "fast-check"
import { anyJson, hostileString, hostileToken, jsonWithNumbers, numberSlot } from "./hostileInput.ts"

/** A generated signal: its subject, its body, and whether Umbra must take it (every other one is dropped and counted). */
export interface SignalCase {
  readonly subject: string
  readonly body: string
  readonly valid: boolean
  readonly kind: "hb" | "tm"
}

const minute = 60_000
const year = 365 * 24 * 60 * minute
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString()

/** Within a couple of minutes of the receiver's clock: well inside the default skew of five. */
const nearNow = fc.integer({ min: -2 * minute, max: 2 * minute })
/** Ten minutes to a few years away, either side. */
const farFromNow = fc.tuple(fc.integer({ min: 10 * minute, max: 5 * year }), fc.boolean()).map(([ms, past]) => (past ? -ms : ms))

const metricName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,20}$/)
const metrics = fc.dictionary(metricName, fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), { maxKeys: 8 })

interface Shape {
  readonly tenant: string
  readonly instanceId: string
  readonly kind: "hb" | "tm"
  readonly fields: Record<string, unknown>
  /** Raw number texts for the `numberSlot` placeholders in `fields`. */
  readonly numbers: ReadonlyArray<string>
}

/** A signal Umbra must take: a recorded instance, a time near now, amounts within a machine, named finite metrics. */
const validShape = (instanceIds: ReadonlyArray<string>) =>
  fc.oneof(
    fc
      .record({ tenant: fc.constant("acme"), instanceId: fc.constantFrom(...instanceIds), offset: nearNow, cpu: fc.double({ min: 0, max: 4096, noNaN: true }), memBytes: fc.integer({ min: 0, max: 2 ** 40 }), metrics: fc.option(metrics, { nil: undefined }), extra: fc.boolean() })
      .map(({ tenant, instanceId, offset, cpu, memBytes, metrics, extra }): Shape => ({
        tenant,
        instanceId,
        kind: "tm",
        fields: { instanceId, at: iso(offset), cpu, memBytes, ...(metrics === undefined ? {} : { metrics }), ...(extra ? { extra: "ignored" } : {}) },
        numbers: []
      })),
    fc
      .record({ tenant: fc.constant("acme"), instanceId: fc.constantFrom(...instanceIds), offset: nearNow, seq: fc.nat(), ready: fc.boolean() })
      .map(({ tenant, instanceId, offset, seq, ready }): Shape => ({ tenant, instanceId, kind: "hb", fields: { instanceId, seq, at: iso(offset), ready }, numbers: [] }))
  )

/** One thing wrong with an otherwise valid signal; each makes it one Umbra must drop. */
const spoil = (shape: Shape): fc.Arbitrary<Shape | { readonly subject: string; readonly body: string }> => {
  const with_ = (fields: Record<string, unknown>, numbers: ReadonlyArray<string> = []): Shape => ({ ...shape, fields: { ...shape.fields, ...fields }, numbers })
  const amount = shape.kind === "tm" ? "cpu" : "seq"
  return fc.oneof(
    farFromNow.map((offset) => with_({ at: iso(offset) })),
    fc.oneof(hostileString, anyJson, fc.constantFrom("2026-13-45T99:99:99Z", "2026-02-30T12:00:00Z", "yesterday", "12:00")).map((at) => with_({ at })),
    fc.constantFrom(...(shape.kind === "tm" ? ["1e999", "-1e999", "-1", "4097", "1e308"] : ["-1", "0.5", "1e999"])).map((text) => with_({ [amount]: numberSlot }, [text])),
    fc.oneof(hostileString, anyJson).filter((value) => typeof value !== "number").map((value) => with_({ [amount]: value })),
    fc.constantFrom("shd-other", "SHD-1", "").map((instanceId) => with_({ instanceId })),
    hostileToken.map((tenant): Shape => ({ ...shape, tenant })),
    hostileToken.map((instanceId): Shape => ({ ...shape, instanceId, fields: { ...shape.fields, instanceId } })),
    fc.constantFrom("at", "instanceId", amount).map((missing) => {
      const { [missing]: _, ...rest } = shape.fields
      return { ...shape, fields: rest }
    }),
    ...(shape.kind === "tm"
      ? [
          fc.integer({ min: 65, max: 300 }).map((count) => with_({ metrics: Object.fromEntries(Array.from({ length: count }, (_, i) => [`m${i}`, i])) })),
          fc.constantFrom("1e999", "-1e999").map((text) => with_({ metrics: { requests: numberSlot } }, [text])),
          fc.constantFrom("1e20", "-5").map((text) => with_({ memBytes: numberSlot }, [text]))
        ]
      : []),
    fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("", "{", "null", "[]", "\u0000")).map((body) => ({ subject: subjectOf(shape), body })),
    anyJson.map((value) => ({ subject: subjectOf(shape), body: JSON.stringify(value) })),
    fc.constantFrom("xx", "tm.extra", "hb.tm").map((kind) => ({ subject: `umbra.sig.${shape.tenant}.${shape.instanceId}.${kind}`, body: bodyOf(shape) }))
  )
}

const subjectOf = (shape: Shape) => `umbra.sig.${shape.tenant}.${shape.instanceId}.${shape.kind}`
const bodyOf = (shape: Shape) => jsonWithNumbers(shape.fields, shape.numbers)

/** Signals of `instanceIds` (tenant `acme`): about one in three valid, the others each wrong in one way. */
export const signalCase = (instanceIds: ReadonlyArray<string>): fc.Arbitrary<SignalCase> =>
  validShape(instanceIds).chain((shape) =>
    fc.oneof(
      { weight: 1, arbitrary: fc.constant({ subject: subjectOf(shape), body: bodyOf(shape), valid: true, kind: shape.kind }) },
      {
        weight: 2,
        arbitrary: spoil(shape).map((spoiled) =>
          "fields" in spoiled ? { subject: subjectOf(spoiled), body: bodyOf(spoiled), valid: false, kind: shape.kind } : { ...spoiled, valid: false, kind: shape.kind }
        )
      }
    )
  )
