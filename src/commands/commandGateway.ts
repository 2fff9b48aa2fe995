import { Clock, DateTime, Effect, Schema } from "effect"
import { accessOf, decodeCommand, type DomainCommand, publicCommandTypes } from "../../domain/commands.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { ValidationFailed } from "../../domain/errors.ts"
import type { CommandId } from "../../domain/ids.ts"
import { tokenPattern, Uuid } from "../../domain/ids.ts"
import { parseStreamName } from "../../domain/streams.ts"
import { parseRequestSubject, subjects } from "../../domain/subjects.ts"
import { EventBus } from "../eventBus.ts"
import { Metrics } from "../metrics.ts"
import { InvalidTenant, MalformedRequest, PayloadTooLarge, UnknownCommand } from "./commandErrors.ts"
import { type CommandError, CommandHandler } from "./commandHandler.ts"

/** The body of every command request (DESIGN.md, "The public interface"). */
export const CommandRequest = Schema.Struct({
  commandId: Uuid,
  correlationId: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(128))),
  data: Schema.Unknown
})

export type GatewayError = CommandError | MalformedRequest | InvalidTenant | PayloadTooLarge | UnknownCommand | ValidationFailed

const summary = (event: StoredEvent) => ({
  id: event.id,
  type: event.type,
  stream: event.stream,
  revision: event.revision,
  position: event.position
})

const encoder = new TextEncoder()
const reply = (body: unknown) => encoder.encode(JSON.stringify(body))

const tenantOf = (stream: string) => parseStreamName(stream)?.tenant

/**
 * An error's fields as a reply may carry them: never another tenant's stream. An event id already stored
 * elsewhere names where only when that is a stream of the requester's tenant (`stream`, its own).
 */
const replyFields = (error: GatewayError): Record<string, unknown> => {
  const { _tag, message, ...fields } = error as GatewayError & Record<string, unknown>
  if (error._tag !== "DuplicateEventId") return fields
  const owner = tenantOf(error.stream)
  if (owner !== undefined && owner === tenantOf(error.storedIn)) return fields
  const { storedIn: _elsewhere, ...own } = fields
  return own
}

/** A typed error as the wire carries it: a stable tag, a sentence for a person, the details to act on. */
export const errorReply = (error: GatewayError) => {
  const fields = replyFields(error)
  const details = "details" in fields ? fields["details"] : fields
  return reply({ ok: false, error: { tag: error._tag, message: error.message, details } })
}

const decodeRequest = Schema.decodeUnknownEffect(Schema.fromJsonString(CommandRequest))

/**
 * A tenant's command from its type and raw fields. Only public commands exist from outside: an internal one
 * (a step of Umbra's own sagas and runners) is answered like a type that does not exist.
 */
export const decodePublicCommand = (type: string, data: unknown, commandId: string): Effect.Effect<DomainCommand, UnknownCommand | ValidationFailed> => {
  const decoded = accessOf(type) === "public" ? decodeCommand(type, data, commandId) : undefined
  return decoded ?? Effect.fail(new UnknownCommand({ message: `there is no command ${type}`, details: { commandType: type, known: publicCommandTypes } }))
}

/**
 * The tenant and name of `umbra.<cmd|query>.<tenant>.<name>`, once the tenant is a valid token and the body
 * within the size limit (checked before the body is parsed).
 */
export const requestTarget = (kind: "command" | "query", subject: string, data: Uint8Array, maxBodyBytes: number) =>
  Effect.gen(function* () {
    const target = parseRequestSubject(subject)
    if (target === undefined || !tokenPattern.test(target.tenant)) {
      return yield* new InvalidTenant({
        message: `the tenant in ${kind === "command" ? "umbra.cmd.<tenant>.<CommandType>" : "umbra.query.<tenant>.<QueryName>"} must match [a-z0-9][a-z0-9_-]{0,63}`,
        details: { subject }
      })
    }
    if (data.byteLength > maxBodyBytes) {
      return yield* new PayloadTooLarge({
        message: `the ${kind} body is ${data.byteLength} bytes, over the limit of ${maxBodyBytes}`,
        details: { bytes: data.byteLength, limit: maxBodyBytes }
      })
    }
    return target
  })

/** A defect answered as an InternalError reply (and logged), so that the requester is never left waiting. */
export const internalError = (kind: "command" | "query", subject: string) => (defect: unknown) =>
  Effect.logError(`${kind} failed unexpectedly`, { subject, defect: String(defect) }).pipe(
    Effect.as(reply({ ok: false, error: { tag: "InternalError", message: `Umbra failed to handle the ${kind}`, details: {} } }))
  )

export interface GatewayOptions {
  /** Bodies larger than this are refused before they are parsed. */
  readonly maxBodyBytes: number
}

/**
 * A command request's labels for the metrics: a name that is no public command type, or a tenant that is no
 * token, is not a label value, so that no sender can mint series.
 */
const metricLabels = (subject: string) => {
  const target = parseRequestSubject(subject)
  return {
    tenant: target !== undefined && tokenPattern.test(target.tenant) ? target.tenant : "",
    type: target !== undefined && accessOf(target.name) === "public" ? target.name : "other"
  }
}

/** Serves `umbra.cmd.<tenant>.<CommandType>` in the queue group `umbra` until the scope closes. */
export const serveCommands = Effect.fn("CommandGateway.serve")(function* (options: GatewayOptions) {
  const bus = yield* EventBus
  const handler = yield* CommandHandler
  const metrics = yield* Metrics

  /** The reply to a request, and its outcome: "ok", "duplicate" or the error's tag. */
  const answer = (subject: string, data: Uint8Array) =>
    Effect.gen(function* () {
      const target = yield* requestTarget("command", subject, data, options.maxBodyBytes)
      const request = yield* decodeRequest(new TextDecoder().decode(data)).pipe(
        Effect.mapError(
          (error) =>
            new MalformedRequest({
              message: 'a command body is JSON: {"commandId": "<uuid>", "correlationId"?: "<text>", "data": {...}}',
              details: { issue: error.message }
            })
        )
      )
      const at = DateTime.formatIso(yield* DateTime.now)
      const correlationId = request.correlationId ?? request.commandId
      const outcome = yield* decodePublicCommand(target.name, request.data, request.commandId)
        .pipe(
          Effect.flatMap((command) =>
            handler.handle({ tenant: target.tenant, commandId: request.commandId as CommandId, correlationId, command, at })
          ),
          Effect.tapError((error) => Effect.logInfo("command refused", { tag: error._tag, message: error.message })),
          Effect.annotateLogs({ tenant: target.tenant, commandId: request.commandId, correlationId, commandType: target.name })
        )
      return {
        outcome: outcome.duplicate ? "duplicate" : "ok",
        reply: reply({ ok: true, duplicate: outcome.duplicate, events: outcome.events.map(summary) })
      }
    }).pipe(
      Effect.tapError((error) =>
        error._tag === "MalformedRequest" || error._tag === "InvalidTenant" || error._tag === "PayloadTooLarge"
          ? Effect.logInfo("request refused", { tag: error._tag, message: error.message, subject })
          : Effect.void
      ),
      Effect.catch((error: GatewayError) => Effect.succeed({ outcome: error._tag, reply: errorReply(error) })),
      Effect.catchDefect((defect) => internalError("command", subject)(defect).pipe(Effect.map((reply) => ({ outcome: "InternalError", reply }))))
    )

  const handle = (subject: string, data: Uint8Array) =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeNanos
      const { outcome, reply } = yield* answer(subject, data)
      const seconds = Number((yield* Clock.currentTimeNanos) - started) / 1e9
      yield* metrics.commandHandled({ ...metricLabels(subject), outcome, seconds })
      return reply
    })

  yield* bus.serveRequests(subjects.commandsOf("*"), "umbra", (request) => handle(request.subject, request.data))
})
