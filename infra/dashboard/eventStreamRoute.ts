import { Effect, Schedule, Stream } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { EventBus, type EventBusShape, type FollowFrom } from "../../src/eventBus.ts"
import { type DecodedSignal, decodeSignal } from "../../src/telemetry/signalDecoding.ts"
import type { HttpHeaders, HttpRequest, HttpResponse, Route } from "../http/router.ts"
import { accessErrorResponse, admitTenant, authenticate, jsonResponse } from "./apiAccess.ts"
import type { TokenCheck } from "./dashboardTokens.ts"

const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // Proxies that buffer (nginx) would hold the events back.
  "x-accel-buffering": "no"
}

/** One server-sent event: its name, JSON data, and the id a reconnecting client sends back as Last-Event-ID. */
const frame = (event: string, data: unknown, id?: number) => `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/** A reconnecting client resumes after the last event it had (its UMBRA_EVENTS sequence); a new one from now. */
const fromOf = (headers: HttpHeaders): FollowFrom => {
  const last = headers["last-event-id"]
  return typeof last === "string" && /^\d{1,15}$/.test(last) ? Number(last) + 1 : "now"
}

/** Keeps the connection open through proxies and idle timeouts while nothing happens. */
const keepAliveEvery = "15 seconds"

/**
 * The tenant's events as they arrive on UMBRA_EVENTS (`umbra`, the whole envelope) and its instances'
 * heartbeats (`heartbeat`: instance, seq, time, ready, round trip), which are observations and never events.
 * When the bus fails the stream says so (`unavailable`) and ends; the client reconnects.
 */
const tenantEvents = (bus: EventBusShape, tenant: string, from: FollowFrom) => {
  const events = bus.followEvents({ filterSubject: subjects.eventsOf(tenant), from }).pipe(Stream.map(({ seq, event }) => frame("umbra", event, seq)))
  const heartbeats = bus.followSignals({ filterSubject: subjects.heartbeatsOf(tenant), from: "now" }).pipe(
    Stream.map(decodeSignal),
    Stream.filter((signal): signal is Extract<DecodedSignal, { readonly kind: "hb" }> => signal?.kind === "hb"),
    Stream.map(({ heartbeat: { instanceId, seq, at, ready, rttMs } }) => frame("heartbeat", { instanceId, seq, at, ready, rttMs: rttMs ?? null }))
  )
  const keepAlive = Stream.tick(keepAliveEvery).pipe(Stream.map(() => ": keep-alive\n\n"))
  return Stream.concat(
    Stream.succeed("retry: 2000\n\n"),
    Stream.mergeAll([events, heartbeats, keepAlive], { concurrency: "unbounded" })
  ).pipe(Stream.orElseSucceed((error) => frame("unavailable", { message: error.message })))
}

const tooManyStreams = (maxStreams: number): HttpResponse => {
  const error = { tag: "TooManyStreams", message: `${maxStreams} event streams are open; try again later`, details: { maxStreams } }
  const busy = jsonResponse(503, JSON.stringify({ ok: false, error }))
  return { ...busy, headers: { ...busy.headers, "retry-after": "5" } }
}

/** How often an open stream checks its token again: a revocation ends it within this. */
const recheckEvery = "5 seconds"

/** Ends when the request's token no longer verifies (its tenant's credentials, or its holder's token, revoked since it was opened). */
const tokenVoided = (check: TokenCheck, request: HttpRequest) =>
  authenticate(check, request.headers).pipe(
    Effect.repeat(Schedule.spaced(recheckEvery)),
    Effect.ignore
  )

/** More open streams than a loopback dashboard needs; each holds two consumers on the server. */
export const defaultMaxStreams = 64

/**
 * `/api/<tenant>/events`: server-sent events of one tenant, for a token that may see it, for as long as it
 * still does; at most `maxStreams` open at once (then 503 with Retry-After), so that valid tokens cannot pile
 * up consumers on the server.
 */
export const eventStreamRoute = (check: TokenCheck, maxStreams = defaultMaxStreams) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    let open = 0
    const counted = (stream: Stream.Stream<string>) =>
      Stream.unwrap(
        Effect.acquireRelease(Effect.sync(() => void (open += 1)), () => Effect.sync(() => void (open -= 1))).pipe(Effect.as(stream))
      )
    return {
      path: "/api/:tenant/events",
      handle: (request) =>
        admitTenant(check, request).pipe(
          Effect.map((tenant) =>
            open >= maxStreams
              ? tooManyStreams(maxStreams)
              : {
                status: 200,
                headers: sseHeaders,
                body: counted(tenantEvents(bus, tenant, fromOf(request.headers)).pipe(Stream.interruptWhen(tokenVoided(check, request))))
              }
          ),
          Effect.catch((error) => Effect.succeed(accessErrorResponse(error)))
        )
    } satisfies Route
  })
