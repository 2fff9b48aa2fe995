import { Effect, Option, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"

/**
 * A subscription to the global log built from two reads an adapter already has: a page after a position,
 * and a wait until something newer than a position may exist. Catch-up and live are the same loop, so
 * nothing is skipped or repeated at the hand-over: the cursor is always the last position delivered.
 */
export const followLog = <E>(options: {
  readonly after: Position | undefined
  readonly pageSize: number
  readonly readPage: (after: Position | undefined, limit: number) => Effect.Effect<ReadonlyArray<StoredEvent>, E>
  readonly awaitNewer: (after: Position | undefined) => Effect.Effect<void, E>
}): Stream.Stream<StoredEvent, E> =>
  Stream.paginate(options.after, (cursor) =>
    options.readPage(cursor, options.pageSize).pipe(
      Effect.flatMap((page) =>
        page.length > 0
          ? Effect.succeed([page, Option.some<Position | undefined>(page[page.length - 1]!.position)] as const)
          : options.awaitNewer(cursor).pipe(Effect.as([page, Option.some(cursor)] as const))
      )
    )
  )
