import { Schema } from "effect"

/** A NATS-safe token: it can stand alone in a subject and in a stream name. */
export const tokenPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/

const Token = Schema.String.check(Schema.isPattern(tokenPattern))

export const TenantId = Token.pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type
export const ClientId = Token.pipe(Schema.brand("ClientId"))
export type ClientId = typeof ClientId.Type
export const InstanceId = Token.pipe(Schema.brand("InstanceId"))
export type InstanceId = typeof InstanceId.Type
export const LaunchId = Token.pipe(Schema.brand("LaunchId"))
export type LaunchId = typeof LaunchId.Type

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const Uuid = Schema.String.check(Schema.isPattern(uuidPattern))
export const EventId = Uuid.pipe(Schema.brand("EventId"))
export type EventId = typeof EventId.Type
export const CommandId = Uuid.pipe(Schema.brand("CommandId"))
export type CommandId = typeof CommandId.Type
