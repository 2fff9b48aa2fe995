import { Effect } from "effect"
import { wrappedStore } from "./wrappedStore.ts"

/** What the store was asked to read: stream and snapshot reads, and the events the stream reads returned. */
export interface ReadCounts {
  reads: number
  events: number
}

/** The store in context, counting into `counts` what is read from it. */
export const countingStore = (counts: ReadCounts) =>
  wrappedStore((store) => ({
    readStream: (name, options) =>
      store.readStream(name, options).pipe(Effect.tap((events) => Effect.sync(() => {
        counts.reads++
        counts.events += events.length
      }))),
    readSnapshot: (name) => store.readSnapshot(name).pipe(Effect.tap(() => Effect.sync(() => void counts.reads++)))
  }))
