import { Effect, Option, Stream } from "effect"
import { parseStreamName } from "../../domain/streams.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { EventStore, type StreamSummary } from "../eventStore/eventStore.ts"

// Names per listing call: on KurrentDB each call scans the log, so few and large.
const pageSize = 10_000

/**
 * The store's streams in name order, of one tenant and/or one category: a category is a name prefix
 * (`instance-`, with a tenant `instance-acme.`); a tenant alone is read from each name.
 */
export const streamsOf = (filter: { readonly tenant?: string | undefined; readonly category?: string | undefined }) =>
  Stream.unwrap(
    Effect.gen(function* () {
      const store = yield* EventStore
      const { tenant, category } = filter
      const prefix = category === undefined ? "" : tenant === undefined ? `${category}-` : `${category}-${tenant}.`
      const wanted = (summary: StreamSummary) => tenant === undefined || parseStreamName(summary.stream)?.tenant === tenant
      return Stream.paginate<string | undefined, StreamSummary, StoreUnavailable>(undefined, (after) =>
        store.listStreams(after === undefined ? { prefix, limit: pageSize } : { prefix, after, limit: pageSize }).pipe(
          Effect.map((page) => [page.filter(wanted), page.length === pageSize ? Option.some(page[page.length - 1]!.stream) : Option.none()] as const)
        )
      )
    })
  )
