import { type Agent, type IncomingMessage, request, type ServerResponse } from "node:http"
import { clientResponseHeaders, upstreamRequestHeaders } from "./proxyHeaders.ts"

export interface ForwardTarget {
  readonly hostname: string
  readonly port: number
  readonly agent: Agent
}

export type ForwardOutcome =
  /** The upstream's response reached the client whole. */
  | { readonly _tag: "Answered"; readonly status: number }
  /** The upstream gave no response (the client got 502, or 504 after the timeout) or cut its response short. */
  | { readonly _tag: "Failed"; readonly reason: string }
  /** The upstream refused the connection, so it got no byte; the client has been sent nothing yet. */
  | { readonly _tag: "Refused" }
  /** The client went away before its response was complete. */
  | { readonly _tag: "Abandoned" }

/** Whether a request carries a body (one that cannot be sent twice). */
export const carriesBody = (incoming: IncomingMessage): boolean =>
  incoming.headers["transfer-encoding"] !== undefined || Number(incoming.headers["content-length"] ?? "0") > 0

/** Answers with a short text; `close` ends the connection, since a request body may be left unread. */
export const answerError = (response: ServerResponse, status: number, text: string, close = false): void => {
  response.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...(close ? { connection: "close" } : {})
  })
  response.end(text)
}

// node:http throws an 'error' event nobody listens to; each failure is handled once, through `done`.
const ignore = () => {}

/**
 * Forwards one request to one upstream, streaming the bodies both ways, and reports how it ended through
 * `done`, exactly once. `timeoutMs` bounds the time the upstream connection may stay idle.
 */
export const forward = (
  incoming: IncomingMessage,
  response: ServerResponse,
  target: ForwardTarget,
  timeoutMs: number,
  done: (outcome: ForwardOutcome) => void
): void => {
  const withBody = carriesBody(incoming)
  let failure: string | undefined
  let settled = false
  const upstream = request({
    agent: target.agent,
    hostname: target.hostname,
    port: target.port,
    method: incoming.method,
    path: incoming.url,
    headers: upstreamRequestHeaders(incoming),
    timeout: timeoutMs
  })
  /** The rest of a body no upstream will read is dropped, so the client can finish sending it. */
  const discardBody = () => {
    if (!withBody) return
    incoming.unpipe(upstream)
    incoming.resume()
  }
  const onClose = (): void => {
    if (failure !== undefined) return settle({ _tag: "Failed", reason: failure })
    if (response.writableFinished) return settle({ _tag: "Answered", status: response.statusCode })
    upstream.destroy()
    settle({ _tag: "Abandoned" })
  }
  const settle = (outcome: ForwardOutcome) => {
    if (settled) return
    settled = true
    response.off("close", onClose)
    done(outcome)
  }
  const fail = (reason: string, status: number) => {
    if (settled || failure !== undefined) return
    failure = reason
    discardBody()
    if (response.headersSent) response.destroy()
    else answerError(response, status, `${status === 504 ? "upstream timed out" : "upstream failed"}\n`, withBody)
  }

  incoming.on("error", ignore)
  response.on("error", ignore)
  response.on("close", onClose)
  upstream.on("timeout", () => {
    fail(`upstream idle for ${timeoutMs} ms`, 504)
    upstream.destroy()
  })
  upstream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "ECONNREFUSED" && failure === undefined && !response.headersSent) {
      discardBody()
      return settle({ _tag: "Refused" })
    }
    fail(error.code ?? error.message, 502)
  })
  upstream.on("response", (answer) => {
    answer.on("error", ignore)
    answer.on("close", () => {
      if (!answer.complete) fail("response cut short", 502)
    })
    response.writeHead(answer.statusCode ?? 502, answer.statusMessage, clientResponseHeaders(answer))
    answer.pipe(response)
  })
  if (withBody) incoming.pipe(upstream)
  else upstream.end()
}
