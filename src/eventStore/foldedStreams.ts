import { Effect, Option, Schema } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { ValidationFailed } from "../../domain/errors.ts"
import type { StoreUnavailable } from "./errors.ts"
import type { EventStoreShape } from "./eventStore.ts"

/** Where the events of one cause (a command, a saga's input) start in the stream, and how many there are. */
export interface RecentCause {
  readonly cause: string
  readonly from: number
  readonly count: number
}

/** A stream folded through `revision` (-1: the stream does not exist yet), with the causes of its last events. */
export interface Folded<State> {
  readonly revision: number
  readonly state: State
  readonly recent: ReadonlyArray<RecentCause>
}

export interface FoldOptions<State> {
  readonly initialState: State
  /** Folds one stored event in (decoding it); events of other types leave the state as it was. */
  readonly evolve: (state: State, event: StoredEvent) => Effect.Effect<State, ValidationFailed>
  /** What caused an event: a repeat of the same cause is answered from the events it made. */
  readonly causeOf: (event: StoredEvent) => string
  /** The state's schema and its version; without one the stream is never snapshotted. */
  readonly snapshot?: { readonly version: number; readonly schema: Schema.Codec<State, unknown> } | undefined
}

export interface FoldLimits {
  /** Streams whose folded state stays in memory; the least recently used goes first. */
  readonly maxStreams: number
  /** Causes remembered per stream, in memory and in snapshots. */
  readonly recentCauses: number
  /** A snapshot is written each time a stream's revision passes a multiple of this. */
  readonly snapshotEvery: number
}

export const defaultFoldLimits: FoldLimits = { maxStreams: 10_000, recentCauses: 64, snapshotEvery: 200 }

const RecentCauses = Schema.Array(Schema.Struct({ cause: Schema.String, from: Schema.Int, count: Schema.Int }))

/** Where a cause's events are, if it is among the stream's recent causes. */
export const recentCause = (folded: Folded<unknown>, cause: string): RecentCause | undefined =>
  folded.recent.find((recent) => recent.cause === cause)

const remember = (recent: ReadonlyArray<RecentCause>, event: StoredEvent, cause: string, keep: number): ReadonlyArray<RecentCause> => {
  const last = recent[recent.length - 1]
  if (last !== undefined && last.cause === cause && last.from + last.count === event.revision) {
    return [...recent.slice(0, -1), { ...last, count: last.count + 1 }]
  }
  const next = [...recent, { cause, from: event.revision, count: 1 }]
  return next.length > keep ? next.slice(next.length - keep) : next
}

/**
 * Folded state per stream, so that a command costs what is new in its stream rather than its whole history:
 * kept in memory (bounded), read forward from the revision it was folded through, and on a cold start taken
 * from the stream's snapshot and the events after it. A snapshot of another version, or one that does not
 * decode, is ignored and the stream folded from its start.
 */
export const makeFoldedStreams = <State>(store: EventStoreShape, options: FoldOptions<State>, limits: FoldLimits = defaultFoldLimits) => {
  const cache = new Map<string, Folded<State>>()
  const snapshot = options.snapshot
  const SnapshotState = snapshot === undefined ? undefined : Schema.Struct({ state: snapshot.schema, recent: RecentCauses })
  const decodeSnapshot = SnapshotState === undefined ? undefined : Schema.decodeUnknownOption(SnapshotState)
  const encodeSnapshot = SnapshotState === undefined ? undefined : Schema.encodeSync(SnapshotState)
  const empty: Folded<State> = { revision: -1, state: options.initialState, recent: [] }

  const keep = (stream: string, folded: Folded<State>) => {
    cache.delete(stream)
    cache.set(stream, folded)
    if (cache.size > limits.maxStreams) cache.delete(cache.keys().next().value!)
  }

  const foldIn = (folded: Folded<State>, events: ReadonlyArray<StoredEvent>, evolveDecoded?: (state: State, index: number) => State) =>
    Effect.gen(function* () {
      let { state, recent, revision } = folded
      for (let index = 0; index < events.length; index++) {
        const event = events[index]!
        state = evolveDecoded === undefined ? yield* options.evolve(state, event) : evolveDecoded(state, index)
        recent = remember(recent, event, options.causeOf(event), limits.recentCauses)
        revision = event.revision
      }
      return { revision, state, recent }
    })

  const fromSnapshot = (stream: string): Effect.Effect<Folded<State>, ValidationFailed | StoreUnavailable> =>
    decodeSnapshot === undefined || snapshot === undefined
      ? Effect.succeed(empty)
      : store.readSnapshot(stream).pipe(
          Effect.map((kept) => {
            if (kept === undefined || kept.version !== snapshot.version) return empty
            return Option.match(decodeSnapshot(kept.state), {
              onNone: () => empty,
              onSome: ({ state, recent }) => ({ revision: kept.revision, state, recent })
            })
          })
        )

  /** The stream's state now: what is cached (or the snapshot) and the events after it. */
  const current = (stream: string) =>
    Effect.gen(function* () {
      const known = cache.get(stream) ?? (yield* fromSnapshot(stream))
      const newer = yield* store.readStream(stream, { from: known.revision + 1 })
      const folded = newer.length === 0 ? known : yield* foldIn(known, newer)
      keep(stream, folded)
      return folded
    })

  /**
   * Folds in events this process has just appended after `folded`, and writes a snapshot when the stream's
   * revision passed a multiple of `snapshotEvery` (a failed snapshot is only a slower next cold start).
   * `evolveDecoded` folds the appended event at `index` from what the caller decided, which decoding the
   * stored copy would give again.
   */
  const advance = (stream: string, folded: Folded<State>, appended: ReadonlyArray<StoredEvent>, evolveDecoded?: (state: State, index: number) => State) =>
    Effect.gen(function* () {
      const next = yield* foldIn(folded, appended, evolveDecoded)
      keep(stream, next)
      const every = limits.snapshotEvery
      if (encodeSnapshot !== undefined && snapshot !== undefined && Math.floor((folded.revision + 1) / every) < Math.floor((next.revision + 1) / every)) {
        // Through JSON, as the store keeps it: an optional field left undefined is dropped, as decoding expects.
        const state: unknown = JSON.parse(JSON.stringify(encodeSnapshot({ state: next.state, recent: next.recent })))
        yield* store
          .writeSnapshot(stream, { revision: next.revision, version: snapshot.version, state })
          .pipe(Effect.catch((error) => Effect.logWarning("snapshot not written", { stream, message: error.message })))
      }
      return next
    })

  /**
   * The state to decide on without asking the store: what this process last folded, or a new stream's when it
   * folded none. Enough for a decision appended with its revision as the expected one (the store refuses it
   * if the stream is further on), never for a refusal. A stream seen for the first time is most often a new
   * one (a client connecting, its profile, its saga): three reads of nothing saved for each.
   */
  const guess = (stream: string): Folded<State> => cache.get(stream) ?? empty

  /** Forgets a stream's cached state (after a conflict: another writer appended). */
  const forget = (stream: string) => Effect.sync(() => void cache.delete(stream))

  return { current, guess, advance, forget }
}
