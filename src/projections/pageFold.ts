import { Effect, Result } from "effect"
import { decodeCurrentEvent, decodeEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { Projection, RowChange } from "../../projections/projection.ts"
import { ProjectionStore } from "./projectionStore.ts"

/**
 * Folds pages of the log into a set of projections: each event is decoded once, whatever number of them
 * fold it, and none that no projection handles is decoded at all. Every projection's rows commit with its
 * checkpoint at the page's last event, in one transaction per page. The one way events reach projections,
 * for `catchUp`/`follow` and for replay alike.
 */
export const makePageFold = (projections: ReadonlyArray<Projection>) => {
  const foldersOf = new Map<string, Array<Projection>>()
  for (const projection of projections) for (const type of projection.handles) foldersOf.set(type, [...(foldersOf.get(type) ?? []), projection])

  return (page: ReadonlyArray<StoredEvent>) =>
    Effect.gen(function* () {
      const last = page[page.length - 1]
      if (last === undefined) return
      const rows = yield* ProjectionStore
      const changes = new Map<Projection, Array<RowChange>>(projections.map((projection) => [projection, []]))
      for (const stored of page) {
        const folders = foldersOf.get(stored.type)
        if (folders === undefined) continue
        const current = decodeCurrentEvent(stored)
        const event = current !== undefined && Result.isSuccess(current) ? current.success : yield* decodeEvent(stored)
        for (const projection of folders) for (const change of projection.apply(event, stored)) changes.get(projection)!.push(change)
      }
      yield* rows.applyAll(
        [...changes].map(([projection, made]) => ({ projection: projection.name, version: projection.version, changes: made })),
        last.position
      )
    })
}
