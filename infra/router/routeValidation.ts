import { Effect } from "effect"
import { RouterFailed, type RouteSpec } from "../../src/trafficRouter.ts"

export interface LoopbackAddress {
  readonly hostname: string
  readonly port: number
}

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"])

/** Where `http://<loopback host>:<port>` points; undefined for anything else (other hosts, paths, TLS, users). */
export const loopbackAddressOf = (url: string): LoopbackAddress | undefined => {
  const parsed = URL.parse(url)
  if (
    parsed === null || parsed.protocol !== "http:" || !loopbackHosts.has(parsed.hostname) || parsed.username !== "" || parsed.password !== "" || parsed.pathname !== "/" || parsed.search !== "" || parsed.hash !== ""
  ) return undefined
  // node:http wants an IPv6 address without its URL brackets; URL leaves the port empty when it is 80.
  return { hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(parsed.port || "80") }
}

const problemOf = (route: RouteSpec): string | undefined => {
  if (route.key === "") return "a route needs a key"
  if (!Number.isInteger(route.port) || route.port < 0 || route.port > 65535) return `port ${route.port} is not a TCP port`
  // No upstream holds the route: it keeps listening and answers 503 until it has one again.
  if (route.upstreams.length === 0) return undefined
  const ids = new Set<string>()
  for (const upstream of route.upstreams) {
    if (upstream.id === "") return "every upstream needs an id"
    if (ids.has(upstream.id)) return `upstream id ${upstream.id} appears twice`
    ids.add(upstream.id)
    if (loopbackAddressOf(upstream.url) === undefined) {
      return `upstream ${upstream.id}: ${upstream.url} is not a loopback URL (http://127.0.0.1:<port>, http://localhost:<port> or http://[::1]:<port>)`
    }
    if (!Number.isInteger(upstream.weight) || upstream.weight < 0 || upstream.weight > 100) {
      return `upstream ${upstream.id}: weight ${upstream.weight} is not an integer from 0 to 100`
    }
  }
  const total = route.upstreams.reduce((sum, upstream) => sum + upstream.weight, 0)
  if (total !== 100) return `the weights add up to ${total}, not 100`
  return undefined
}

/** Fails with RouterFailed, saying what is wrong, unless the route is one the router can serve. */
export const validateRoute = (route: RouteSpec): Effect.Effect<void, RouterFailed> => {
  const problem = problemOf(route)
  return problem === undefined ? Effect.void : Effect.fail(new RouterFailed({ key: route.key, message: problem }))
}
