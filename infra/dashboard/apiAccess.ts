import { Effect, Schema } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { InvalidTenant } from "../../src/commands/commandErrors.ts"
import { errorReply } from "../../src/commands/commandGateway.ts"
import type { HttpHeaders, HttpRequest, HttpResponse } from "../http/router.ts"
import { mayView, type TokenCheck, type Viewer, viewerOf } from "./dashboardTokens.ts"

const Details = Schema.Record(Schema.String, Schema.Unknown)

/** No bearer token, or one the server's key did not make. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String, details: Details }) {}

/** A valid token of another tenant than the one asked for. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String, details: Details }) {}

export type AccessError = Unauthorized | Forbidden | InvalidTenant

/** Answers are read per request and may be a tenant's own: no cache keeps them. */
const apiHeaders = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" }

export const jsonResponse = (status: number, body: string): HttpResponse => ({ status, headers: apiHeaders, body })

const decoder = new TextDecoder()

/** A typed error in the same shape as a NATS reply's (`{ok: false, error: {tag, message, details}}`). */
export const errorResponse = (status: number, error: Parameters<typeof errorReply>[0]): HttpResponse => jsonResponse(status, decoder.decode(errorReply(error)))

/** What an access error answers: 401 (with the scheme to use), 403 or 400. */
export const accessErrorResponse = (error: AccessError): HttpResponse => {
  const body = JSON.stringify({ ok: false, error: { tag: error._tag, message: error.message, details: error.details } })
  switch (error._tag) {
    case "Unauthorized":
      return { status: 401, headers: { ...apiHeaders, "www-authenticate": 'Bearer realm="umbra"' }, body }
    case "Forbidden":
      return jsonResponse(403, body)
    case "InvalidTenant":
      return jsonResponse(400, body)
  }
}

const bearerOf = (headers: HttpHeaders) => {
  const header = headers["authorization"]
  const value = typeof header === "string" ? header : undefined
  const match = value === undefined ? null : /^Bearer ([A-Za-z0-9._-]{1,256})$/.exec(value)
  return match?.[1]
}

/** Whom the request's `Authorization: Bearer <token>` speaks for. The token itself is never logged or echoed. */
export const authenticate = (check: TokenCheck, headers: HttpHeaders): Effect.Effect<Viewer, Unauthorized> => {
  const token = bearerOf(headers)
  if (token === undefined) {
    return Effect.fail(new Unauthorized({ message: "send Authorization: Bearer <token> (umbra tenant token <tenant>)", details: {} }))
  }
  return viewerOf(check, token).pipe(
    // Closed when the revocations cannot be read: a token is never taken on trust.
    Effect.catchTag("DashboardKeyFailed", (error) => Effect.fail(new Unauthorized({ message: `the token cannot be checked now: ${error.message}`, details: {} }))),
    Effect.flatMap((viewer) =>
      viewer === undefined
        ? Effect.fail(new Unauthorized({ message: "the token is not one this server issued, or it was revoked since (its tenant's credentials, or its holder's token)", details: {} }))
        : Effect.succeed(viewer)
    )
  )
}

/** The tenant a `/api/<tenant>/…` request names, once its token is valid, the name is a token and the viewer may see it. */
export const admitTenant = (check: TokenCheck, request: HttpRequest): Effect.Effect<string, AccessError> =>
  Effect.gen(function* () {
    const viewer = yield* authenticate(check, request.headers)
    const tenant = request.params["tenant"] ?? ""
    if (!tokenPattern.test(tenant)) {
      return yield* new InvalidTenant({ message: "the tenant in /api/<tenant>/… must match [a-z0-9][a-z0-9_-]{0,63}", details: {} })
    }
    if (!mayView(viewer, tenant)) {
      return yield* new Forbidden({ message: `this token is tenant ${viewer.kind === "tenant" ? viewer.tenant : ""}'s, not ${tenant}'s`, details: { tenant } })
    }
    return tenant
  })
