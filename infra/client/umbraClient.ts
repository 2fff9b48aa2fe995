import { randomUUID } from "node:crypto"
import { Effect, Schema } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { CommandRequest } from "../../src/commands/commandGateway.ts"
import { BusError, CommandRejected, InvalidOptions, QueryRejected } from "./clientErrors.ts"
import { clientLayer, resolveAccess, type UmbraClientOptions } from "./clientConnection.ts"
import { checkQuery, type QueryBody, type QueryName, type QueryResults } from "./clientQueries.ts"
import { type ClientRuntime, settle, startClientRuntime } from "./clientRuntime.ts"
import { type EventsFrom, tenantEvents, type UmbraEvent } from "./eventFeed.ts"
import { requestJson } from "./busRequest.ts"
import { checkCommand, type CommandData, type PublicCommandType } from "./publicCommands.ts"
import { type AppendedEvent, CommandReply, QueryReply } from "./replies.ts"
import type { NatsConnection } from "../nats/connection.ts"
import type { EventBus } from "../../src/eventBus.ts"

export * from "./clientErrors.ts"
export type { UmbraClientOptions } from "./clientConnection.ts"
export { queryNames, type QueryBody, type QueryName, type QueryResults } from "./clientQueries.ts"
export type { EventsFrom, UmbraEvent } from "./eventFeed.ts"
export { publicCommands, type CommandData, type PublicCommandType } from "./publicCommands.ts"
export type { AppendedEvent, EventType } from "./replies.ts"
export type { DomainEvent } from "../../domain/catalog.ts"

export interface SendOptions {
  /** Reuse an id to retry safely: the server answers a repeat with the first outcome (`duplicate: true`). Default a new UUID. */
  readonly commandId?: string
  /** Ties the command's events to a wider conversation (default the command id). */
  readonly correlationId?: string
  readonly timeoutMs?: number
}

/** A command Umbra accepted: its id, and the events it appended (none new when it is a duplicate). */
export interface CommandAccepted {
  readonly commandId: string
  readonly duplicate: boolean
  readonly events: ReadonlyArray<AppendedEvent>
}

/** A query's body is optional where the query names nothing. */
type QueryArgs<Q extends QueryName> = {} extends QueryBody<Q> ? [body?: QueryBody<Q>, options?: { readonly timeoutMs?: number }]
  : [body: QueryBody<Q>, options?: { readonly timeoutMs?: number }]

const checkEnvelope = Schema.decodeUnknownEffect(CommandRequest)

/**
 * Umbra for one tenant, over NATS: its public commands, its queries, and its events. Every call's data is
 * checked with the server's own schemas before it is sent; every failure is an UmbraError with a `tag`.
 */
export class UmbraClient {
  /** The tenant the client acts for. */
  readonly tenant: string
  readonly #runtime: ClientRuntime<NatsConnection | EventBus>
  readonly #timeoutMs: number

  private constructor(tenant: string, runtime: ClientRuntime<NatsConnection | EventBus>, timeoutMs: number) {
    this.tenant = tenant
    this.#runtime = runtime
    this.#timeoutMs = timeoutMs
  }

  /** Connects with a tenant's `.creds` file, or as the operator beside `umbra serve` (then name the tenant). */
  static async connect(options: UmbraClientOptions = {}): Promise<UmbraClient> {
    const { tenant, connection } = await Effect.runPromiseExit(resolveAccess(options)).then(settle)
    const runtime = await startClientRuntime(clientLayer(connection, options.logLevel ?? "warn"), (error) => new BusError("Unreachable", error.message))
    return new UmbraClient(tenant, runtime, options.timeoutMs ?? 10_000)
  }

  /** Sends a public command; resolves with what it appended, or rejects with a CommandRejected (or a BusError). */
  send<T extends PublicCommandType>(type: T, data: CommandData<T>, options: SendOptions = {}): Promise<CommandAccepted> {
    const tenant = this.tenant
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs
    return this.#runtime.run(
      Effect.gen(function* () {
        const body = { commandId: options.commandId ?? randomUUID(), ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }), data }
        yield* checkEnvelope(body).pipe(Effect.mapError((error) => new CommandRejected("MalformedRequest", error.message, {}, false)))
        yield* checkCommand(type, data, body.commandId)
        const reply = yield* requestJson(subjects.command(tenant, type), body, timeoutMs, CommandReply)
        if (!reply.ok) return yield* Effect.fail(new CommandRejected(reply.error.tag, reply.error.message, reply.error.details, true))
        return { commandId: body.commandId, duplicate: reply.duplicate, events: reply.events }
      })
    )
  }

  /** Runs a query; resolves with its result, or rejects with a QueryRejected (or a BusError). */
  query<Q extends QueryName>(name: Q, ...[body, options]: QueryArgs<Q>): Promise<QueryResults[Q]> {
    const subject = subjects.query(this.tenant, name)
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs
    return this.#runtime.run(
      Effect.gen(function* () {
        const checked = yield* checkQuery(name, body ?? {})
        const reply = yield* requestJson(subject, checked, timeoutMs, QueryReply)
        if (!reply.ok) return yield* Effect.fail(new QueryRejected(reply.error.tag, reply.error.message, reply.error.details, true))
        // The result is the server's query function's answer as JSON: its rows are typed by the projection that writes them.
        return reply.result as QueryResults[Q]
      })
    )
  }

  /**
   * The tenant's events as they are kept on JetStream, decoded: from the first kept (`"start"`), from a
   * stream sequence (an event's `seq`), or only those arriving after iteration starts (`"now"`, the
   * default; the consumer is made by the first `next()`, so an event stored just before is not seen: follow
   * from a sequence or from the start where that matters). Iteration ends on `break` or `close()`; a
   * failure throws a BusError or an EventUnreadable.
   */
  events(options: { readonly from?: EventsFrom } = {}): AsyncIterable<UmbraEvent> {
    const from = options.from ?? "now"
    if (typeof from === "number" && !(Number.isInteger(from) && from > 0)) throw new InvalidOptions(`from is "start", "now" or a positive stream sequence, not ${from}`)
    return this.#runtime.iterate(tenantEvents(this.tenant, from))
  }

  /** Ends every subscription and closes the connection (draining what is in flight). */
  close(): Promise<void> {
    return this.#runtime.close()
  }
}
