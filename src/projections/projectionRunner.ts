import { Effect, Stream } from "effect"
import { decodeEvent, type DomainEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { Projection, RowChange } from "../../projections/projection.ts"
import { resumingFromCheckpoint } from "../backoff.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { ProjectionStore } from "./projectionStore.ts"

const pageSize = 2_000

/** The row changes of one page of the log; events the projection does not handle are not decoded. */
const changesOf = (projection: Projection, page: ReadonlyArray<StoredEvent>) =>
  Effect.gen(function* () {
    const changes: Array<RowChange> = []
    for (const stored of page) {
      if (!projection.handles.has(stored.type as DomainEvent["_tag"])) continue
      changes.push(...projection.apply(yield* decodeEvent(stored), stored))
    }
    return changes
  })

/**
 * Runs projections over the store's global log: `catchUp` folds everything after the checkpoint up to the
 * head (a projection of a new version starts from the beginning), `follow` keeps folding live events. Each
 * page's rows commit with the checkpoint, so a crash neither loses nor repeats a change.
 */
export const makeProjectionRunner = (projection: Projection) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const rows = yield* ProjectionStore

    const applyPage = (page: ReadonlyArray<StoredEvent>) =>
      Effect.gen(function* () {
        const last = page[page.length - 1]
        if (last === undefined) return
        yield* rows.apply(projection.name, projection.version, yield* changesOf(projection, page), last.position)
      })

    const catchUp = Effect.gen(function* () {
      let after = yield* rows.checkpoint(projection.name, projection.version)
      let folded = 0
      for (;;) {
        const page = yield* store.readAll(after === undefined ? { limit: pageSize } : { after, limit: pageSize })
        yield* applyPage(page)
        folded += page.length
        if (page.length < pageSize) break
        after = page[page.length - 1]!.position
      }
      yield* Effect.logInfo("projection caught up", { projection: projection.name, events: folded })
    }).pipe(Effect.withSpan("Projection.catchUp", { attributes: { projection: projection.name } }))

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
