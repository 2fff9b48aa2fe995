import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Schema, Stream } from "effect"
import { type HttpResponse, makeRouter, type Route, textResponse } from "./router.ts"

export class HttpServerFailed extends Schema.TaggedError<HttpServerFailed>()("HttpServerFailed", {
  message: Schema.String
}) {}

export interface HttpListen {
  readonly host: string
  /** 0 takes a free port. */
  readonly port: number
}

/**
 * Serves `routes` over HTTP on `host:port` until the scope closes, then stops accepting and ends every
 * connection (a scraper's keep-alive would otherwise hold shutdown). Returns the address it is bound to.
 */
export const serveHttp = Effect.fn("HttpServer.serve")(function* (listen: HttpListen, routes: ReadonlyArray<Route>) {
  const route = makeRouter(routes)
  // Forked rather than run as promises: an answer cut short by shutdown is no unhandled rejection.
  const run = Effect.runForkWith(yield* Effect.context<never>())
  const write = (method: string | undefined, response: ServerResponse, { status, headers, body }: HttpResponse) => {
    if (typeof body === "string") return Effect.sync(() => void response.writeHead(status, headers).end(body))
    // HEAD has no body to stream: the stream is never started.
    if (method === "HEAD") return Effect.sync(() => void response.writeHead(status, headers).end())
    // A stream is written chunk by chunk as it comes (no buffering in between), until it ends or the client goes.
    return Effect.sync(() => response.writeHead(status, headers).flushHeaders()).pipe(
      Effect.andThen(Stream.runForEach(body, (chunk) => Effect.sync(() => void response.write(chunk)))),
      Effect.ensuring(Effect.sync(() => void response.end()))
    )
  }
  const respond = (request: IncomingMessage, response: ServerResponse) =>
    route(request.method ?? "GET", request.url ?? "/", request.headers).pipe(
      Effect.flatMap((answer) => write(request.method, response, answer)),
      Effect.catchDefect((defect) =>
        Effect.logError("an HTTP request failed unexpectedly", { method: request.method, path: request.url?.split("?")[0], defect: String(defect) }).pipe(
          Effect.andThen(Effect.sync(() => void (response.headersSent ? response.end() : response.writeHead(500, textResponse(500, "").headers).end("Umbra failed to answer\n"))))
        )
      )
    )
  const server = yield* Effect.acquireRelease(
    Effect.callback<ReturnType<typeof createServer>, HttpServerFailed>((resume) => {
      const server = createServer((request, response) => {
        const fiber = run(respond(request, response))
        // A client that goes away ends its answer: a stream of events would otherwise follow the bus for no one.
        response.once("close", () => fiber.interruptUnsafe())
      })
      const refused = (error: NodeJS.ErrnoException) =>
        resume(Effect.fail(new HttpServerFailed({
          message: error.code === "EADDRINUSE"
            ? `${listen.host}:${listen.port} is already in use`
            : `cannot listen on ${listen.host}:${listen.port}: ${error.message}`
        })))
      server.once("error", refused)
      server.listen(listen.port, listen.host, () => {
        server.off("error", refused)
        resume(Effect.succeed(server))
      })
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )
  const { address, port } = server.address() as AddressInfo
  return { host: address, port }
})
