import { Data, Deferred, Effect, Stream } from "effect"
import type { Extract, Pack } from "tar-stream"

/** One entry of an archive being read: its header and a readable of its content. */
export type Entry = Extract extends AsyncIterable<infer E> ? E : never
/** What an entry added to a pack is made of. */
export type EntryHeader = Parameters<Pack["entry"]>[0]

/**
 * The buffer of each stream between the engine, the checks and the disk: 1 MiB rather than the default
 * 16 KiB saves a wait for `drain` on nearly every chunk, and memory stays bounded.
 */
export const streamBuffer = { highWaterMark: 1024 * 1024 } as const

/** What a streamx (or Node) writable offers for backpressure. */
interface ChunkSink {
  readonly write: (chunk: Uint8Array) => boolean
  readonly end: (chunk: undefined) => unknown
  readonly once: (event: "drain" | "error" | "close", listener: (cause?: unknown) => void) => unknown
  readonly off: (event: "drain" | "error" | "close", listener: (cause?: unknown) => void) => unknown
  readonly destroyed: boolean
}

/** The writable failed or was closed before it took everything; `cause` is its error, if it had one. */
export class SinkClosed extends Data.TaggedError("SinkClosed")<{ readonly cause: unknown }> {}

/** Writes one chunk, waiting for `drain` when the sink's buffer is full, so memory stays bounded. */
const writeChunk = (sink: ChunkSink, chunk: Uint8Array) =>
  Effect.callback<void, SinkClosed>((resume) => {
    if (sink.destroyed) return resume(Effect.fail(new SinkClosed({ cause: undefined })))
    if (sink.write(chunk)) return resume(Effect.void)
    const forget = () => {
      sink.off("drain", drained)
      sink.off("error", closed)
      sink.off("close", closed)
    }
    const drained = () => {
      forget()
      resume(Effect.void)
    }
    const closed = (cause?: unknown) => {
      forget()
      resume(Effect.fail(new SinkClosed({ cause })))
    }
    sink.once("drain", drained)
    sink.once("error", closed)
    sink.once("close", closed)
    return Effect.sync(forget)
  })

/** Feeds a whole stream into a writable, with backpressure, then ends it. */
export const feed = <E, R>(source: Stream.Stream<Uint8Array, E, R>, sink: ChunkSink) =>
  Stream.runForEach(source, (chunk) => writeChunk(sink, chunk)).pipe(Effect.andThen(Effect.sync(() => void sink.end(undefined))))

/**
 * Feeds an archive to an extract. The extract closes early only on bad data, which its entries then fail
 * with, or when the reading is torn down: either way the feeding just stops.
 */
export const feedArchive = <E, R>(source: Stream.Stream<Uint8Array, E, R>, extract: Extract) =>
  feed(source, extract).pipe(Effect.catchTag("SinkClosed", () => Effect.never))

/** Adds one entry to a pack (a file's content streamed in); done once the pack has taken all of it. */
export const packEntry = <E = never, R = never>(pack: Pack, header: EntryHeader, content: Stream.Stream<Uint8Array, E, R> = Stream.empty) =>
  Effect.gen(function* () {
    const taken = yield* Deferred.make<void>()
    // The pack refuses an entry only once it is destroyed, which happens when its reader is gone: a bug here.
    const sink = pack.entry(header, (error) => Deferred.doneUnsafe(taken, error ? Effect.die(error) : Effect.void))
    // A destroyed pack destroys its current entry; that failure reaches us through the callback above.
    sink.on("error", () => undefined)
    yield* feed(content, sink).pipe(Effect.catchTag("SinkClosed", (closed) => Effect.die(closed)))
    yield* Deferred.await(taken)
  })

/** The chunks of a pack or of an entry's content (Buffers, though tar-stream's types say `unknown`). */
export const chunksOf = <E>(readable: AsyncIterable<unknown>, onError: (cause: unknown) => E): Stream.Stream<Uint8Array, E> =>
  Stream.fromAsyncIterable(readable as AsyncIterable<Uint8Array>, onError)

/** The entries of an archive as it is fed; each one's content must be read to its end before the next comes. */
export const entriesOf = <E>(extract: Extract, onError: (cause: unknown) => E): Stream.Stream<Entry, E> =>
  Stream.fromAsyncIterable(extract, onError)
