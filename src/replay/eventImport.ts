import { Effect, Result, Schema, Stream } from "effect"
import { type NewEvent, StoredEvent } from "../../domain/envelope.ts"
import { uuidPattern } from "../../domain/ids.ts"
import { EventStore, type ExpectedRevision } from "../eventStore/eventStore.ts"

/** One line of an import file that is not an envelope, or not where its stream's revisions say it should be. */
export interface BadLine {
  readonly line: number
  readonly message: string
}

/** The file holds bad lines: nothing of it was applied. The first few are listed; `count` says how many in all. */
export class ImportRefused extends Schema.TaggedError<ImportRefused>()("ImportRefused", {
  count: Schema.Int,
  lines: Schema.Array(Schema.Struct({ line: Schema.Int, message: Schema.String }))
}) {}

/** An event that the store holds a different event in place of (same stream and revision, another id). */
export class ImportConflict extends Schema.TaggedError<ImportConflict>()("ImportConflict", {
  line: Schema.Int,
  stream: Schema.String,
  revision: Schema.Int,
  message: Schema.String
}) {}

export interface ImportOutcome {
  readonly imported: number
  readonly skipped: number
}

const listedBadLines = 20
// The most events of one stream appended in one call.
const maxBatch = 500

interface Numbered {
  readonly event: StoredEvent
  readonly line: number
}

const decodeLine = Schema.decodeUnknownResult(Schema.fromJsonString(StoredEvent))

/** What every store refuses of an envelope that its schema lets through, checked here so that it refuses nothing half-way. */
const storeRefuses = (event: StoredEvent): string | undefined => {
  if (!uuidPattern.test(event.id)) return `event id ${event.id} is not a lower-case UUID`
  if (!Number.isInteger(event.revision) || event.revision < 0) return `revision ${event.revision} is not a revision (0 or more)`
  if (event.schemaVersion < 1) return `schemaVersion ${event.schemaVersion} is not 1 or more`
  if (Number.isNaN(Date.parse(event.at))) return `'at' ${event.at} is not an ISO-8601 time`
  return undefined
}

/** What the store is handed: the envelope less what the new store assigns (its revision is the expected one's next). */
const toNewEvent = ({ stream: _stream, revision: _revision, position: _position, ...event }: StoredEvent): NewEvent => event

/** The file's lines numbered from 1, empty lines left out (a file ends with a newline). */
const numbered = <E>(lines: Stream.Stream<string, E>) =>
  lines.pipe(
    Stream.mapAccum(() => 0, (n, text) => [n + 1, [{ line: n + 1, text }]] as const),
    Stream.filter(({ text }) => text.length > 0)
  )

/** Counts bad lines, keeping the first few. */
const badLines = () => {
  const listed: Array<BadLine> = []
  let count = 0
  return {
    report: (line: number, message: string) => {
      count++
      if (listed.length < listedBadLines) listed.push({ line, message })
    },
    refusal: () => (count === 0 ? undefined : new ImportRefused({ count, lines: listed }))
  }
}

/**
 * Every line decoded with the envelope's schema, and each stream's revisions checked to follow on from its
 * first line's, before anything is written: a bad file is refused whole. A gap is reported only in a file
 * whose lines all decode, since a line that does not leaves one in its stream.
 */
const checkLines = <E>(lines: Stream.Stream<string, E>) =>
  Effect.gen(function* () {
    const undecodable = badLines()
    const gaps = badLines()
    const nextRevision = new Map<string, number>()
    yield* Stream.runForEach(numbered(lines), ({ line, text }) =>
      Effect.sync(() => {
        const decoded = decodeLine(text)
        if (Result.isFailure(decoded)) return undecodable.report(line, decoded.failure.message)
        const refused = storeRefuses(decoded.success)
        if (refused !== undefined) return undecodable.report(line, refused)
        const { stream, revision } = decoded.success
        const expected = nextRevision.get(stream)
        if (expected !== undefined && revision !== expected) {
          gaps.report(line, `${stream} has revision ${revision} here, where the lines before it make ${expected} next`)
        }
        nextRevision.set(stream, revision + 1)
      })
    )
    const refusal = undecodable.refusal() ?? gaps.refusal()
    if (refusal !== undefined) return yield* refusal
  })

/**
 * Appends an export (NDJSON envelopes in position order, as `exportEvents` writes them) to the store in
 * context: ids, streams and revisions kept, each run of one stream's events appended with the expected
 * revision before its first, in file order so the new positions keep the log's order. Idempotent: events
 * the store already holds at their place (or whose id it holds elsewhere) are skipped. `lines` is read
 * twice: once to check every line, then to append.
 */
export const importEvents = <E>(lines: Stream.Stream<string, E>) =>
  Effect.gen(function* () {
    yield* checkLines(lines)
    const store = yield* EventStore
    let imported = 0
    let skipped = 0

    const expectedBefore = (event: StoredEvent): ExpectedRevision => (event.revision === 0 ? "no_stream" : event.revision - 1)

    /** One event alone: held already (here or under another stream) is skipped; another event in its place is a conflict. */
    const appendOne = (event: StoredEvent, line: number) =>
      store.append(event.stream, expectedBefore(event), [toNewEvent(event)]).pipe(
        Effect.map((result) => (result.appended ? imported++ : skipped++)),
        Effect.catchTags({
          DuplicateEventId: () => Effect.sync(() => skipped++),
          ConcurrencyConflict: (conflict) =>
            Effect.fail(
              new ImportConflict({
                line,
                stream: event.stream,
                revision: event.revision,
                message: `the store's ${event.stream} is at ${conflict.actual} where line ${line} expects ${expectedBefore(event)}: it holds other events than the file's`
              })
            )
        })
      )

    /** A run of one stream's events in one call; when part of it is held already, one at a time. */
    const appendRun = (events: ReadonlyArray<Numbered>) => {
      const first = events[0]!.event
      const oneByOne = () => Effect.forEach(events, ({ event, line }) => appendOne(event, line), { discard: true })
      return store.append(first.stream, expectedBefore(first), events.map(({ event }) => toNewEvent(event))).pipe(
        Effect.map((result) => (result.appended ? (imported += events.length) : (skipped += events.length))),
        Effect.catchTags({ DuplicateEventId: oneByOne, ConcurrencyConflict: oneByOne })
      )
    }

    let run: Array<Numbered> = []
    const flush = Effect.suspend(() => {
      const events = run
      run = []
      return events.length === 0 ? Effect.void : appendRun(events)
    })
    yield* Stream.runForEach(numbered(lines), ({ line, text }) =>
      Effect.gen(function* () {
        // Every line decoded in the check above.
        const event = Result.getOrThrow(decodeLine(text))
        if (run.length > 0 && (run[0]!.event.stream !== event.stream || run.length >= maxBatch)) yield* flush
        run.push({ event, line })
      })
    )
    yield* flush
    return { imported, skipped } satisfies ImportOutcome
  }).pipe(Effect.withSpan("Replay.importEvents"))
