import type { DomainEvent } from "../domain/catalog.ts"
import type { StoredEvent } from "../domain/envelope.ts"

/**
 * A change to one row of a read model, by key; values are plain JSON. `Update` derives the new value from
 * the row as stored (after the changes before it), so a fold need not read anything itself; it returns
 * undefined to delete the row.
 */
export type RowChange =
  | { readonly _tag: "Put"; readonly key: string; readonly value: unknown }
  | { readonly _tag: "Delete"; readonly key: string }
  | { readonly _tag: "Update"; readonly key: string; readonly update: (current: unknown) => unknown }

/**
 * A read model as a pure fold from events to row changes. One runner feeds every projection from the
 * store's global log, keeping its rows and its checkpoint in one transaction; a projection whose `version`
 * changed is rebuilt from the start of the log. A projection of observations folds what JetStream holds
 * (`Event` and `Envelope` are then the observation and where it was read), through the same store.
 */
export interface Projection<Event = DomainEvent, Envelope = StoredEvent> {
  readonly name: string
  readonly version: number
  /** The event types it folds; others are skipped without being decoded. */
  readonly handles: ReadonlySet<DomainEvent["_tag"]>
  /** The row changes one event makes. */
  readonly apply: (event: Event, envelope: Envelope) => ReadonlyArray<RowChange>
}

export const put = (key: string, value: unknown): RowChange => ({ _tag: "Put", key, value })
export const remove = (key: string): RowChange => ({ _tag: "Delete", key })

/** Changes the row at `key` when there is one (`change` sees it typed as the projection wrote it); no row, no change. */
export const patch = <Row>(key: string, change: (row: Row) => Row | undefined): RowChange => ({
  _tag: "Update",
  key,
  update: (current) => (current === undefined ? undefined : change(current as Row))
})

/** Creates or changes the row at `key`: `change` gets undefined when there is none yet. */
export const upsert = <Row>(key: string, change: (row: Row | undefined) => Row | undefined): RowChange => ({
  _tag: "Update",
  key,
  update: (current) => change(current as Row | undefined)
})
