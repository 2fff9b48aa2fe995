import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http"

/** Headers about one connection, not the message (RFC 9110 §7.6.1); node:http sets its own framing. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade"
])

/** The headers without the hop-by-hop ones, including those the `Connection` header names. */
const endToEnd = (headers: IncomingHttpHeaders): OutgoingHttpHeaders => {
  const named = new Set((headers.connection ?? "").split(",").map((name) => name.trim().toLowerCase()))
  const kept: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name) && !named.has(name)) kept[name] = value
  }
  return kept
}

/**
 * What the upstream is sent: the client's end-to-end headers, its address appended to `x-forwarded-for`,
 * and the host and scheme it asked for (an earlier proxy's values kept). `expect` is dropped: the listener
 * has already answered `100 Continue`.
 */
export const upstreamRequestHeaders = (incoming: IncomingMessage): OutgoingHttpHeaders => {
  const headers = endToEnd(incoming.headers)
  delete headers["expect"]
  const client = incoming.socket.remoteAddress ?? "unknown"
  const forwardedFor = incoming.headers["x-forwarded-for"]
  headers["x-forwarded-for"] = forwardedFor === undefined ? client : `${forwardedFor}, ${client}`
  const host = incoming.headers["x-forwarded-host"] ?? incoming.headers.host
  if (host !== undefined) headers["x-forwarded-host"] = host
  headers["x-forwarded-proto"] = incoming.headers["x-forwarded-proto"] ?? "http"
  return headers
}

export const clientResponseHeaders = (upstream: IncomingMessage): OutgoingHttpHeaders => endToEnd(upstream.headers)
