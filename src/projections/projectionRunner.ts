import { Clock, Effect, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import type { Projection } from "../../projections/projection.ts"
import { resumingFromCheckpoint } from "../backoff.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { positionToBigInt } from "../eventStore/position.ts"
import { makePageFold } from "./pageFold.ts"
import { ProjectionProgress } from "./projectionProgress.ts"
import { ProjectionStore } from "./projectionStore.ts"

const pageSize = 2_000

/** The events between two positions, where positions count events (SQLite, the in-memory store); else unknown. */
export const eventsBetween = (after: Position | undefined, head: Position | undefined): number | undefined => {
  if (head === undefined) return 0
  try {
    return Number(positionToBigInt(head) - (after === undefined ? 0n : positionToBigInt(after)))
  } catch {
    return undefined
  }
}

export interface CatchUpOptions {
  /** Called after each page with the events folded so far and the events there were to fold (when known). */
  readonly onPage?: (folded: number, total: number | undefined) => Effect.Effect<void>
}

/**
 * Runs a projection over the store's global log: `catchUp` folds everything after the checkpoint up to the
 * head (a projection of a new version starts from the beginning, and is reported as rebuilding until it
 * has caught up), `follow` keeps folding live events. Each page's rows commit with the checkpoint, so a
 * crash neither loses nor repeats a change.
 */
export const makeProjectionRunner = (projection: Projection) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const rows = yield* ProjectionStore
    const progress = yield* ProjectionProgress

    const pages = makePageFold([projection])
    const applyPage = (page: ReadonlyArray<StoredEvent>) =>
      page.length === 0 ? Effect.void : pages.fold(page).pipe(Effect.andThen(pages.commit(page[page.length - 1]!.position)), Effect.provideService(ProjectionStore, rows))

    const catchUp = (options: CatchUpOptions = {}) =>
      Effect.gen(function* () {
        let after = yield* rows.checkpoint(projection.name, projection.version)
        const total = eventsBetween(after, yield* store.headPosition())
        const rebuilding = after === undefined
        let folded = 0
        const note = (startedAtMs: number) =>
          rebuilding ? Effect.sync(() => progress.set(projection.name, { folded, total, startedAtMs })) : Effect.void
        const startedAtMs = yield* Clock.currentTimeMillis
        yield* note(startedAtMs)
        for (;;) {
          const page = yield* store.readAll(after === undefined ? { limit: pageSize } : { after, limit: pageSize })
          yield* applyPage(page)
          folded += page.length
          yield* note(startedAtMs)
          if (options.onPage !== undefined) yield* options.onPage(folded, total)
          if (page.length < pageSize) break
          after = page[page.length - 1]!.position
        }
        yield* Effect.logInfo("projection caught up", { projection: projection.name, events: folded, rebuilt: rebuilding })
        return folded
      }).pipe(
        Effect.ensuring(Effect.sync(() => progress.delete(projection.name))),
        Effect.withSpan("Projection.catchUp", { attributes: { projection: projection.name } })
      )

    const follow = resumingFromCheckpoint(`projection ${projection.name}`)(
      Effect.gen(function* () {
        const after = yield* rows.checkpoint(projection.name, projection.version)
        yield* store.subscribe(after === undefined ? {} : { after }).pipe(
          Stream.groupedWithin(pageSize, "100 millis"),
          Stream.runForEach(applyPage)
        )
      })
    )

    return { catchUp, follow }
  })
