import { jetstreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"

/** One message of UMBRA_EVENTS: its subject, its id header, and the stream and revision of its envelope. */
export interface LoggedEvent {
  readonly subject: string
  readonly id: string
  readonly stream: string
  readonly revision: number
}

/**
 * Every message of UMBRA_EVENTS in stream order, read one sequence at a time (test streams are small).
 * Fails while the server is unreachable.
 */
export const readEventLog = Effect.gen(function* () {
  const nc = yield* NatsConnection
  return yield* Effect.tryPromise(async () => {
    const jsm = await jetstreamManager(nc)
    const { state } = await jsm.streams.info(streamNames.events)
    const logged: Array<LoggedEvent> = []
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(streamNames.events, { seq })
      if (message === null) continue
      const { stream, revision } = message.json<{ stream: string; revision: number }>()
      logged.push({ subject: message.subject, id: message.header.get("Nats-Msg-Id"), stream, revision })
    }
    return logged
  })
})

export interface Audit {
  /** Messages whose event id came earlier in the log too. */
  readonly duplicates: number
  /** Stored events that are not on JetStream. */
  readonly lost: number
  /** Messages whose revision is not above the revision of the message before them on their subject. */
  readonly outOfOrder: number
  /** Messages whose event id the store does not have. */
  readonly orphans: number
}

/** How UMBRA_EVENTS (`logged`, in stream order) falls short of the events the relay had to publish. */
export const audit = (stored: ReadonlyArray<StoredEvent>, logged: ReadonlyArray<LoggedEvent>): Audit => {
  const storedIds = new Set(stored.map((event) => event.id))
  const seen = new Set<string>()
  const lastRevision = new Map<string, number>()
  let duplicates = 0
  let outOfOrder = 0
  let orphans = 0
  for (const message of logged) {
    if (seen.has(message.id)) duplicates++
    seen.add(message.id)
    if (!storedIds.has(message.id)) orphans++
    if (message.revision <= (lastRevision.get(message.subject) ?? -1)) outOfOrder++
    lastRevision.set(message.subject, message.revision)
  }
  return { duplicates, lost: stored.filter((event) => !seen.has(event.id)).length, outOfOrder, orphans }
}
