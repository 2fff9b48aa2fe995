import { Effect, type Stream } from "effect"

/** A request's headers as Node gives them: lower-case names. */
export type HttpHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** A request as a route sees it: the path's named segments decoded, the query and the headers. */
export interface HttpRequest {
  readonly method: string
  readonly path: string
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly headers: HttpHeaders
}

/** A whole body, or a stream of chunks written as they come until it ends or the client goes (server-sent events). */
export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Stream.Stream<string>
}

/** A GET route; `path` is segments, `:name` for one that is a parameter (`/api/:tenant/fleet`), `/` the root. */
export interface Route {
  readonly path: string
  readonly handle: (request: HttpRequest) => Effect.Effect<HttpResponse>
}

export const textResponse = (status: number, body: string, contentType = "text/plain; charset=utf-8"): HttpResponse => ({
  status,
  headers: { "content-type": contentType },
  body
})

const segmentsOf = (path: string) => path.split("/").filter((segment) => segment !== "")

/** The parameters of `path` when it matches `pattern`'s segments, else undefined. */
const match = (pattern: ReadonlyArray<string>, path: ReadonlyArray<string>): Record<string, string> | undefined => {
  if (pattern.length !== path.length) return undefined
  const params: Record<string, string> = {}
  for (const [i, segment] of pattern.entries()) {
    if (segment.startsWith(":")) params[segment.slice(1)] = path[i]!
    else if (segment !== path[i]) return undefined
  }
  return params
}

/**
 * Answers a request from the first route whose path matches. Everything served is read-only: GET (and HEAD,
 * whose body Node leaves out) only; another method on a known path is 405, an unknown path 404.
 */
export const makeRouter = (routes: ReadonlyArray<Route>) => {
  const compiled = routes.map((route) => ({ route, segments: segmentsOf(route.path) }))
  return (method: string, url: string, headers: HttpHeaders = {}): Effect.Effect<HttpResponse> => {
    const parsed = new URL(url, "http://umbra")
    let segments: Array<string>
    try {
      segments = segmentsOf(parsed.pathname).map(decodeURIComponent)
    } catch {
      return Effect.succeed(textResponse(400, "the path is not valid percent-encoding\n"))
    }
    for (const { route, segments: pattern } of compiled) {
      const params = match(pattern, segments)
      if (params === undefined) continue
      if (method !== "GET" && method !== "HEAD") {
        const refused = textResponse(405, `${method} is not allowed here; use GET\n`)
        return Effect.succeed({ ...refused, headers: { ...refused.headers, allow: "GET, HEAD" } })
      }
      return route.handle({ method, path: parsed.pathname, params, query: parsed.searchParams, headers })
    }
    return Effect.succeed(textResponse(404, `nothing at ${parsed.pathname}\n`))
  }
}
