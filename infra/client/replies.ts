import { Schema } from "effect"
import { DomainEvent } from "../../domain/catalog.ts"
import { StoredEvent } from "../../domain/envelope.ts"
import { IllegalState, NotFound, ValidationFailed } from "../../domain/errors.ts"
import { InvalidTenant, MalformedRequest, PayloadTooLarge, UnknownCommand } from "../../src/commands/commandErrors.ts"
import { ConcurrencyConflict, DuplicateEventId, StoreUnavailable } from "../../src/eventStore/errors.ts"
import type { CommandErrorTag, QueryErrorTag } from "./clientErrors.ts"

/** The type of every event in the catalog. */
export const EventType = Schema.Literals(DomainEvent.members.map((member) => member.fields._tag.schema.literal))
export type EventType = typeof EventType.Type

const tagOf = <Tag extends string>(error: { readonly fields: { readonly _tag: { readonly schema: { readonly literal: Tag } } } }) =>
  error.fields._tag.schema.literal

const commandErrorTags = [
  ...[ValidationFailed, IllegalState, NotFound, ConcurrencyConflict, DuplicateEventId, StoreUnavailable].map(tagOf),
  ...[MalformedRequest, InvalidTenant, PayloadTooLarge, UnknownCommand].map(tagOf),
  "InternalError" as const
] satisfies ReadonlyArray<CommandErrorTag>
const queryErrorTags = [
  ...[NotFound, ValidationFailed, StoreUnavailable].map(tagOf),
  ...[MalformedRequest, InvalidTenant, PayloadTooLarge].map(tagOf),
  "InternalError" as const
] satisfies ReadonlyArray<QueryErrorTag>

// Each list names every tag of its union: a tag added to the server's errors and not here fails to compile.
type Missing<Union, Listed> = [Exclude<Union, Listed>] extends [never] ? true : Exclude<Union, Listed>
const allCommandTags: Missing<CommandErrorTag, (typeof commandErrorTags)[number]> = true
const allQueryTags: Missing<QueryErrorTag, (typeof queryErrorTags)[number]> = true
void allCommandTags, allQueryTags

const errorBody = <Tag extends string>(tags: ReadonlyArray<Tag>) =>
  Schema.Struct({ tag: Schema.Literals(tags), message: Schema.String, details: Schema.Record(Schema.String, Schema.Unknown) })

/** An event a command appended, as its reply names it (DESIGN.md, "The public interface"). */
export const AppendedEvent = Schema.Struct({
  id: StoredEvent.fields.id,
  type: EventType,
  stream: StoredEvent.fields.stream,
  revision: StoredEvent.fields.revision,
  position: StoredEvent.fields.position
})
export type AppendedEvent = typeof AppendedEvent.Type

export const CommandReply = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), duplicate: Schema.Boolean, events: Schema.Array(AppendedEvent) }),
  Schema.Struct({ ok: Schema.Literal(false), error: errorBody(commandErrorTags) })
])

export const QueryReply = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), result: Schema.Unknown }),
  Schema.Struct({ ok: Schema.Literal(false), error: errorBody(queryErrorTags) })
])
