import { Effect, Option, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"

/**
 * A subscription to the global log built from two reads an adapter already has: a page after a position,
 * and a wait until something newer than a position may exist (at once when it does). Catch-up and live are
 * the same loop, so nothing is skipped or repeated at the hand-over: the cursor is always the last position
 * delivered. A page shorter than `pageSize` reached the head: the next read waits for news first, rather
 * than read an empty page (live, that was one empty read per commit for every subscriber).
 */
export const followLog = <E>(options: {
  readonly after: Position | undefined
  readonly pageSize: number
  readonly readPage: (after: Position | undefined, limit: number) => Effect.Effect<ReadonlyArray<StoredEvent>, E>
  readonly awaitNewer: (after: Position | undefined) => Effect.Effect<void, E>
}): Stream.Stream<StoredEvent, E> =>
  Stream.paginate({ cursor: options.after, atHead: false }, ({ cursor, atHead }) =>
    (atHead ? options.awaitNewer(cursor) : Effect.void).pipe(
      Effect.andThen(options.readPage(cursor, options.pageSize)),
      Effect.map((page) => {
        const next = page.length > 0 ? page[page.length - 1]!.position : cursor
        return [page, Option.some({ cursor: next, atHead: page.length < options.pageSize })] as const
      })
    ))
