import type { IncomingMessage, ServerResponse } from "node:http"
import { answerError, carriesBody, forward } from "./proxy.ts"
import type { RouteUpstreams, UpstreamState } from "./routeUpstreams.ts"

export interface RouteHandlerOptions {
  readonly timeoutMs: number
  /** Told of every request an upstream failed (refused, reset, timed out, cut short). */
  readonly onFailure: (upstreamId: string, reason: string) => void
}

/**
 * Serves one request of a route: picks an upstream by weight and forwards to it. A GET or HEAD without a
 * body whose upstream refused the connection is safe to send again, so it is, once, to another upstream.
 */
export const routeHandler = (upstreams: RouteUpstreams, options: RouteHandlerOptions) =>
  (incoming: IncomingMessage, response: ServerResponse): void => {
    const attempt = (upstream: UpstreamState, mayRetry: boolean) => {
      const { finish, target } = upstreams.begin(upstream)
      forward(incoming, response, target, options.timeoutMs, (outcome) => {
        switch (outcome._tag) {
          case "Answered":
            return finish(outcome.status >= 500)
          case "Abandoned":
            return finish(false)
          case "Failed":
            finish(true)
            return options.onFailure(upstream.id, outcome.reason)
          case "Refused": {
            finish(true)
            options.onFailure(upstream.id, "ECONNREFUSED")
            const next = mayRetry ? upstreams.choose(upstream) : undefined
            if (next !== undefined) return attempt(next, false)
            return answerError(response, 502, "upstream refused the connection\n", carriesBody(incoming))
          }
        }
      })
    }
    const first = upstreams.choose()
    if (first === undefined) return answerError(response, 503, "no upstream takes traffic on this route\n")
    attempt(first, (incoming.method === "GET" || incoming.method === "HEAD") && !carriesBody(incoming))
  }
