import type { Position } from "../../domain/envelope.ts"
import { ConcurrencyConflict, DuplicateEventId } from "../../src/eventStore/errors.ts"
import type { AppendResult, ExpectedRevision } from "../../src/eventStore/eventStore.ts"

/** Where an event id is already stored. */
export interface StoredLocation {
  readonly stream: string
  readonly revision: number
  readonly position: Position
}

/** What an append must do: write, or answer as the first identical append did. */
export type AppendPlan =
  | { readonly _tag: "Write" }
  | { readonly _tag: "Replay"; readonly result: AppendResult }
  | ConcurrencyConflict
  | DuplicateEventId

const revisionMatches = (expected: ExpectedRevision, current: number): boolean =>
  expected === "any" ||
  (expected === "no_stream" && current < 0) ||
  (expected === "stream_exists" && current >= 0) ||
  expected === current

/**
 * The store's rules for one append, for adapters that check them themselves. `current` is the stream's
 * revision (-1 when it has none); `locate` finds an id already stored. A retry of an append that already
 * landed (same ids, same place) is answered with the first outcome and writes nothing.
 */
export const planAppend = (
  stream: string,
  expected: ExpectedRevision,
  current: number,
  ids: ReadonlyArray<string>,
  locate: (id: string) => StoredLocation | undefined
): AppendPlan => {
  const found = ids.map(locate)
  const first = found[0]
  if (first !== undefined) {
    const samePlace = found.every(
      (location, i) => location !== undefined && location.stream === stream && location.revision === first.revision + i
    )
    if (samePlace && revisionMatches(expected, first.revision - 1)) {
      const last = found[found.length - 1]!
      return { _tag: "Replay", result: { revision: last.revision, position: last.position, appended: false } }
    }
  }
  const taken = found.findIndex((location) => location !== undefined)
  if (taken >= 0) {
    return new DuplicateEventId({ eventId: ids[taken]!, stream, storedIn: found[taken]!.stream })
  }
  return revisionMatches(expected, current)
    ? { _tag: "Write" }
    : new ConcurrencyConflict({ stream, expected, actual: current < 0 ? "no_stream" : current })
}
