import { Effect, Option, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import type { EventStoreShape } from "../eventStore/eventStore.ts"

// Events per read, and per commit of a replay: a read-model commit costs about as much as folding a few
// thousand events (each writes the B-tree pages it touched, and now and then checkpoints the WAL), and a
// bigger page writes a row that many events change only once. It bounds what one step holds in memory.
export const logPageSize = 20_000

/**
 * The store's global log as pages, in position order: the events after `after` (from the start when absent)
 * up to `through` (inclusive; to the head when absent). The stream ends at the first short page, so events
 * appended while it runs may or may not be read.
 */
export const logPages = (
  store: EventStoreShape,
  options: { readonly after?: Position | undefined; readonly through?: Position | undefined; readonly pageSize?: number } = {}
) => {
  const pageSize = options.pageSize ?? logPageSize
  return Stream.paginate<Position | undefined, ReadonlyArray<StoredEvent>, StoreUnavailable>(options.after, (after) =>
    store.readAll(after === undefined ? { limit: pageSize } : { after, limit: pageSize }).pipe(
      Effect.map((read) => {
        const through = options.through
        const page = through === undefined ? read : read.filter((event) => event.position <= through)
        const last = page[page.length - 1]
        const more = read.length === pageSize && page.length === read.length && last !== undefined
        return [page.length === 0 ? [] : [page], more ? Option.some(last.position) : Option.none()] as const
      })
    )
  )
}
