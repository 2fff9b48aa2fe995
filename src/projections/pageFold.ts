import { Effect, Result } from "effect"
import { decodeCurrentEvent, decodeEvent } from "../../domain/catalog.ts"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import type { Projection, RowChange } from "../../projections/projection.ts"
import { ProjectionStore } from "./projectionStore.ts"

type Update = Extract<RowChange, { readonly _tag: "Update" }>["update"]

/**
 * A row as the pages folded so far left it: `stored` is what the store held (`unread` for a row the fold
 * only wrote, whose value does not depend on it); `waiting` holds the updates of a row not read yet, applied
 * once the page's reads are done.
 */
interface FoldedRow {
  stored: unknown
  value: unknown
  waiting: Array<Update> | undefined
}
const unread = Symbol("unread")

/**
 * Folds pages of the log into a set of projections: each event is decoded once, whatever number of them
 * fold it, and none that no projection handles is decoded at all. Changes are applied as events are folded,
 * to the rows as the pages so far left them, so that a page's events and their changes are garbage once it
 * is folded; the rows a page updates without having them are read together after it, in one transaction.
 * `commit` writes the rows that changed with every projection's checkpoint, in one transaction. The one way
 * events reach projections, for `catchUp`/`follow` and for replay alike.
 */
export const makePageFold = (projections: ReadonlyArray<Projection>) => {
  const foldersOf = new Map<string, Array<Projection>>()
  for (const projection of projections) for (const type of projection.handles) foldersOf.set(type, [...(foldersOf.get(type) ?? []), projection])
  const empty = () => new Map(projections.map((projection) => [projection, new Map<string, FoldedRow>()]))
  let folded = empty()
  const discard = Effect.sync(() => {
    folded = empty()
  })

  const applyChange = (rows: Map<string, FoldedRow>, change: RowChange, toRead: Array<string>) => {
    const row = rows.get(change.key)
    if (change._tag === "Update") {
      if (row === undefined) {
        rows.set(change.key, { stored: unread, value: undefined, waiting: [change.update] })
        toRead.push(change.key)
      } else if (row.waiting !== undefined) row.waiting.push(change.update)
      else row.value = change.update(row.value)
      return
    }
    const value = change._tag === "Put" ? change.value : undefined
    if (row === undefined) rows.set(change.key, { stored: unread, value, waiting: undefined })
    else {
      // Whatever the store holds, the row is now this: it is written as it is, with no read.
      row.value = value
      row.waiting = undefined
    }
  }

  const fold = (page: ReadonlyArray<StoredEvent>) =>
    Effect.gen(function* () {
      const toRead = new Map(projections.map((projection) => [projection, [] as Array<string>]))
      for (const stored of page) {
        const folders = foldersOf.get(stored.type)
        if (folders === undefined) continue
        const current = decodeCurrentEvent(stored)
        const event = current !== undefined && Result.isSuccess(current) ? current.success : yield* decodeEvent(stored)
        for (const projection of folders) {
          const rows = folded.get(projection)!
          const keys = toRead.get(projection)!
          for (const change of projection.apply(event, stored)) applyChange(rows, change, keys)
        }
      }
      const store = yield* ProjectionStore
      for (const [projection, keys] of toRead) {
        const rows = folded.get(projection)!
        // A row put or deleted after its updates needs no read any more.
        const waiting = keys.filter((key) => rows.get(key)!.waiting !== undefined)
        const stored = yield* store.rowsAt(projection.name, waiting)
        waiting.forEach((key, i) => {
          const row = rows.get(key)!
          row.stored = row.value = stored[i]
          for (const update of row.waiting!) row.value = update(row.value)
          row.waiting = undefined
        })
      }
    }).pipe(Effect.onError(() => discard))

  /** Writes what the folded pages changed and moves every projection's checkpoint to `through`, in one transaction. */
  const commit = (through: Position) =>
    Effect.gen(function* () {
      const rows = yield* ProjectionStore
      yield* rows.applyAll(
        [...folded].map(([projection, changed]) => {
          const changes: Array<RowChange> = []
          // An update that returned the row it was given changed nothing.
          for (const [key, { stored, value }] of changed) {
            if (value !== stored) changes.push(value === undefined ? { _tag: "Delete", key } : { _tag: "Put", key, value })
          }
          return { projection: projection.name, version: projection.version, changes }
        }),
        through
      )
    }).pipe(Effect.ensuring(discard))

  return { fold, commit }
}
