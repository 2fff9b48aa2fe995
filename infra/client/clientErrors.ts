import type { NotFound, ValidationFailed } from "../../domain/errors.ts"
import type { InvalidTenant, MalformedRequest, PayloadTooLarge } from "../../src/commands/commandErrors.ts"
import type { GatewayError } from "../../src/commands/commandGateway.ts"
import type { StoreUnavailable } from "../../src/eventStore/errors.ts"

/** What the gateways answer when they fail on a bug rather than on the request. */
type InternalError = "InternalError"

/** Every tag a command reply's error carries: the command gateway's error union. */
export type CommandErrorTag = GatewayError["_tag"] | InternalError

/** Every tag a query reply's error carries: the query gateway's errors. */
export type QueryErrorTag =
  | NotFound["_tag"]
  | ValidationFailed["_tag"]
  | StoreUnavailable["_tag"]
  | MalformedRequest["_tag"]
  | InvalidTenant["_tag"]
  | PayloadTooLarge["_tag"]
  | InternalError

/** Why a request or a subscription did not get through NATS. */
export type BusErrorTag = "Unreachable" | "Timeout" | "NotPermitted" | "NoResponders" | "Closed" | "BadReply"

/** Every error the client throws: `tag` says which, `details` what the caller needs to act. */
export abstract class UmbraError extends Error {
  abstract readonly tag: string
  readonly details: Readonly<Record<string, unknown>>
  constructor(message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(message)
    this.details = details
  }
}

/** Umbra refused a request, with the tag of the server's error; `sent: false` when the client refused it before sending. */
abstract class Refused<Tag extends string> extends UmbraError {
  readonly tag: Tag
  readonly sent: boolean
  constructor(tag: Tag, message: string, details: Readonly<Record<string, unknown>>, sent: boolean) {
    super(message, details)
    this.tag = tag
    this.sent = sent
  }
}

/**
 * A refused command. Data the server would refuse is refused before sending (`sent: false`), on the same
 * schema check the server makes: a `ValidationFailed`, `MalformedRequest` or `UnknownCommand`.
 */
export class CommandRejected extends Refused<CommandErrorTag> {
  override readonly name = "CommandRejected"
}

/** A refused query (`sent: false`: the client refused its body before sending). */
export class QueryRejected extends Refused<QueryErrorTag> {
  override readonly name = "QueryRejected"
}

/** NATS did not carry a request or a subscription: unreachable, too slow, refused by permissions, closed, or an answer that is not Umbra's. */
export class BusError extends UmbraError {
  override readonly name = "BusError"
  readonly tag: BusErrorTag
  constructor(tag: BusErrorTag, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(message, details)
    this.tag = tag
  }
}

/** An event on the tenant's subjects that this version of Umbra cannot read (a newer type or version, or bad data); resume after `seq`. */
export class EventUnreadable extends UmbraError {
  override readonly name = "EventUnreadable"
  readonly tag = "EventUnreadable" as const
  readonly seq: number
  constructor(seq: number, message: string, details: Readonly<Record<string, unknown>>) {
    super(message, details)
    this.seq = seq
  }
}

/** Options the client cannot work with: no tenant named, unreadable credentials, an invalid setting or position. */
export class InvalidOptions extends UmbraError {
  override readonly name = "InvalidOptions"
  readonly tag = "InvalidOptions" as const
}
