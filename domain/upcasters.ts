import { Effect, Schema } from "effect"
import { ValidationFailed } from "./errors.ts"
import { heartbeatRecordedFromV1, HeartbeatRecordedV1 } from "./heartbeatRecordedV1.ts"
import { heartbeatRecordedFromV2, HeartbeatRecordedV2 } from "./heartbeatRecordedV2.ts"
import { instanceResizedFromV1, InstanceResizedV1 } from "./instance/instanceResizedV1.ts"
import { profileRefinedFromV1, ProfileRefinedV1 } from "./profile/profileRefinedV1.ts"
import { sagaStepRecordedFromV1, SagaStepRecordedV1 } from "./sagaStepV1.ts"

/**
 * One step in the history of an event type: data as version `from` wrote it, checked against that version's
 * own schema (an old event is decoded, never cast), becomes the data of version `from + 1` as that version
 * stores it (encoded), which the next step or today's schema checks in turn.
 */
export interface Upcaster {
  readonly type: string
  readonly from: number
  readonly up: (data: unknown) => Effect.Effect<unknown, Schema.SchemaError>
}

export const upcaster = <S extends Schema.Decoder<unknown>, Next>(
  type: string,
  from: number,
  schema: S,
  up: (old: S["Type"]) => Next
): Upcaster => {
  const decode = Schema.decodeUnknownEffect(schema)
  return { type, from, up: (data) => Effect.map(decode(data), up) }
}

/** Every step of every event type whose schema changed. A version bump in the catalog needs its step here. */
export const upcasters: ReadonlyArray<Upcaster> = [
  upcaster("ProfileRefined", 1, ProfileRefinedV1, profileRefinedFromV1),
  upcaster("SagaStepRecorded", 1, SagaStepRecordedV1, sagaStepRecordedFromV1),
  upcaster("HeartbeatRecorded", 1, HeartbeatRecordedV1, heartbeatRecordedFromV1),
  upcaster("HeartbeatRecorded", 2, HeartbeatRecordedV2, heartbeatRecordedFromV2),
  upcaster("InstanceResized", 1, InstanceResizedV1, instanceResizedFromV1)
]

const key = (type: string, from: number) => `${type} v${from}`

/**
 * The steps missing for each type to be read from version 1 up to its current version, and the steps that
 * lead nowhere (past the current version, or given twice): what the catalog refuses to load with.
 */
export const chainGaps = (current: ReadonlyMap<string, number>, steps: ReadonlyArray<Upcaster> = upcasters): ReadonlyArray<string> => {
  const given = new Map<string, { readonly step: Upcaster; readonly count: number }>()
  for (const step of steps) given.set(key(step.type, step.from), { step, count: (given.get(key(step.type, step.from))?.count ?? 0) + 1 })
  const missing = [...current].flatMap(([type, version]) =>
    Array.from({ length: version - 1 }, (_, i) => i + 1)
      .filter((from) => !given.has(key(type, from)))
      .map((from) => `no upcaster ${type} v${from}→v${from + 1}`)
  )
  const stray = [...given.values()].flatMap(({ step, count }) => {
    const version = current.get(step.type)
    if (version === undefined || step.from < 1 || step.from >= version) return [`the upcaster ${key(step.type, step.from)} is for no version before the current one`]
    return count > 1 ? [`more than one upcaster ${key(step.type, step.from)}`] : []
  })
  return [...missing, ...stray]
}

/**
 * A stored event's data read up to `current` through the upcasters of its type, one version at a time. Data
 * that does not match the schema of a version on the way is a ValidationFailed naming the event and that version.
 */
export const makeUpcast = (steps: ReadonlyArray<Upcaster>) => {
  const byStep = new Map(steps.map((step) => [key(step.type, step.from), step]))
  return (stored: { readonly id: string; readonly type: string; readonly schemaVersion: number; readonly data: unknown }, current: number) =>
    Effect.gen(function* () {
      let data = stored.data
      for (let version = stored.schemaVersion; version < current; version++) {
        const step = byStep.get(key(stored.type, version))
        const invalid = (message: string) =>
          new ValidationFailed({
            message: `event ${stored.id} (${stored.type} v${stored.schemaVersion}) cannot be read as v${version + 1}: ${message}`,
            details: { id: stored.id, type: stored.type, schemaVersion: stored.schemaVersion, failedFrom: version }
          })
        if (step === undefined) return yield* invalid(`no upcaster from v${version}`)
        data = yield* step.up(data).pipe(Effect.mapError((error) => invalid(`it does not match v${version}: ${error.message}`)))
      }
      return data
    })
}

export const upcast = makeUpcast(upcasters)
