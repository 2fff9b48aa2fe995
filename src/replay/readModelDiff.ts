import { Effect } from "effect"
import type { Projection } from "../../projections/projection.ts"
import type { ProjectionStore } from "../projections/projectionStore.ts"

/** A row that two read-model stores do not hold alike; undefined where one has no such row. */
export interface RowDifference {
  readonly projection: string
  readonly key: string
  readonly live: unknown
  readonly rebuilt: unknown
}

/** Equality of plain JSON values, whatever the order of object keys. */
const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  if (keysA.length !== Object.keys(b).length) return false
  return keysA.every((key) => Object.hasOwn(b, key) && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

/** The rows of each projection that the live store and a rebuilt one hold differently, in projection then key order. */
export const diffReadModels = Effect.fn("Replay.diff")(function* (
  live: ProjectionStore["Service"],
  rebuilt: ProjectionStore["Service"],
  projections: ReadonlyArray<Projection>
) {
  const differences: Array<RowDifference> = []
  for (const { name: projection } of projections) {
    const liveRows = new Map((yield* live.rows(projection, "")).map((row) => [row.key, row.value]))
    const rebuiltRows = new Map((yield* rebuilt.rows(projection, "")).map((row) => [row.key, row.value]))
    const keys = [...new Set([...liveRows.keys(), ...rebuiltRows.keys()])].sort()
    for (const key of keys) {
      const [inLive, inRebuilt] = [liveRows.get(key), rebuiltRows.get(key)]
      if (!sameJson(inLive, inRebuilt)) differences.push({ projection, key, live: inLive, rebuilt: inRebuilt })
    }
  }
  return differences
})
