import { Effect, Stream } from "effect"
import type { Position } from "../../domain/envelope.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { logPages } from "./logPages.ts"

export interface ExportOptions {
  /** Only this tenant's events. */
  readonly tenant?: string | undefined
  /** Exclusive: the events after this position. */
  readonly after?: Position | undefined
  /** Inclusive: up to this position. */
  readonly through?: Position | undefined
}

/**
 * The global log as NDJSON, one envelope a line in position order, a page of lines at a time: what
 * `importEvents` reads back. Each page's text ends with a newline.
 */
export const exportEvents = (options: ExportOptions = {}) =>
  Stream.unwrap(
    Effect.gen(function* () {
      const store = yield* EventStore
      return logPages(store, options).pipe(
        Stream.map((page) => (options.tenant === undefined ? page : page.filter((event) => event.tenant === options.tenant))),
        Stream.filter((page) => page.length > 0),
        Stream.map((page) => ({ events: page.length, text: `${page.map((event) => JSON.stringify(event)).join("\n")}\n` }))
      )
    })
  )
