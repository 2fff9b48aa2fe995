import { Effect, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import type { Projection } from "../../projections/projection.ts"
import { makePageFold } from "../projections/pageFold.ts"
import { ProjectionStore } from "../projections/projectionStore.ts"

export interface ReplayOptions {
  readonly projections: ReadonlyArray<Projection>
  /** Fold only the events after this position: the rows then hold what those events made, nothing before. */
  readonly from?: Position | undefined
  /** Called after each page with the events folded so far. */
  readonly onPage?: (folded: number) => Effect.Effect<void>
}

export interface ReplayOutcome {
  readonly projections: ReadonlyArray<string>
  readonly folded: number
  /** Events at or before `from` or one already folded, left out: a source may deliver again (JetStream after its dedupe window). */
  readonly skipped: number
  /** The position of the last event folded; every projection's checkpoint. */
  readonly through: Position | undefined
}

/**
 * Rebuilds read models from a log of pages in position order (the store's, or JetStream's copy of it): each
 * projection's rows are cleared and its checkpoint set to `from`, then every page is folded into every
 * projection, the rows committing with the checkpoint every few pages, so a replay cut short resumes where
 * it stopped when the control plane next catches up.
 */
const pagesPerCommit = 3

export const replayReadModels = <E>(pages: Stream.Stream<ReadonlyArray<StoredEvent>, E>, options: ReplayOptions) =>
  Effect.gen(function* () {
    const rows = yield* ProjectionStore
    const { projections } = options
    yield* Effect.forEach(projections, (projection) => rows.reset(projection.name, projection.version, options.from), { discard: true })
    const fold = makePageFold(projections)
    let through = options.from
    let folded = 0
    let skipped = 0
    let pending = 0

    // Pages are read as the raw reader reads them best, and each is folded as it comes; committing every
    // few pages writes a row the events of those pages change once, and commits a third as often.
    const commit = Effect.suspend(() => {
      if (pending === 0) return Effect.void
      pending = 0
      return fold.commit(through!)
    })
    yield* Stream.runForEach(pages, (page) =>
      Effect.gen(function* () {
        const fresh: Array<StoredEvent> = []
        for (const event of page) {
          if (through !== undefined && event.position <= through) continue
          fresh.push(event)
          through = event.position
        }
        skipped += page.length - fresh.length
        if (fresh.length === 0) return
        yield* fold.fold(fresh)
        folded += fresh.length
        if (++pending === pagesPerCommit) yield* commit
        if (options.onPage !== undefined) yield* options.onPage(folded)
      })
    )
    yield* commit
    return { projections: projections.map((projection) => projection.name), folded, skipped, through } satisfies ReplayOutcome
  }).pipe(Effect.withSpan("Replay.readModels"))
