import type { DomainEvent } from "../domain/catalog.ts"
import type { StoredEvent } from "../domain/envelope.ts"

/** A change to one row of a read model, by key; the value is plain JSON. */
export type RowChange =
  | { readonly _tag: "Put"; readonly key: string; readonly value: unknown }
  | { readonly _tag: "Delete"; readonly key: string }

/**
 * A read model as a pure fold from events to row changes. One runner feeds every projection from the
 * store's global log, keeping its rows and its checkpoint in one transaction; a projection whose `version`
 * changed is rebuilt from the start of the log.
 */
export interface Projection {
  readonly name: string
  readonly version: number
  /** The event types it folds; others are skipped without being decoded. */
  readonly handles: ReadonlySet<DomainEvent["_tag"]>
  /** The row changes one event makes. */
  readonly apply: (event: DomainEvent, envelope: StoredEvent) => ReadonlyArray<RowChange>
}

export const put = (key: string, value: unknown): RowChange => ({ _tag: "Put", key, value })
export const remove = (key: string): RowChange => ({ _tag: "Delete", key })
