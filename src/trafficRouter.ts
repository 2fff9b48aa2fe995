import { Context, type Effect, Schema } from "effect"

/** One place a route sends requests to; `weight` is its share in percent (the weights of a route add up to 100). */
export interface Upstream {
  readonly id: string
  /** `http://127.0.0.1:<port>`: only loopback upstreams are accepted. */
  readonly url: string
  readonly weight: number
}

export interface RouteSpec {
  /** What the route serves, e.g. `<tenant>/<clientId>`. */
  readonly key: string
  /**
   * The loopback port the route listens on; it keeps listening while its upstreams change. `0` picks a free
   * port, which `routes()` and `metrics()` then report.
   */
  readonly port: number
  /** None holds the route: it keeps its port and answers 503 until an upstream is set again. */
  readonly upstreams: ReadonlyArray<Upstream>
}

/**
 * An upstream's counters since the route first named it. Latencies are counted in the fixed buckets of
 * `latencyBucketsMs` (the last bucket is everything above the last bound), so that two snapshots subtract
 * into the figures of the time between them.
 */
export interface UpstreamMetrics {
  readonly id: string
  /** Requests finished (answered, failed or abandoned by the client); each is in one latency bucket. */
  readonly requests: number
  /** Responses with status ≥ 500 and requests that got no response (refused, reset, timed out). */
  readonly errors: number
  readonly inFlight: number
  readonly latencyBuckets: ReadonlyArray<number>
}

export interface RouteMetrics {
  readonly key: string
  readonly port: number
  readonly upstreams: ReadonlyArray<UpstreamMetrics>
}

/** Upper bounds (ms) of the latency buckets; one more bucket counts what is slower than the last. */
export const latencyBucketsMs: ReadonlyArray<number> = [
  0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500,
  2000, 3000, 5000, 10000
]

export class RouterFailed extends Schema.TaggedError<RouterFailed>()("RouterFailed", {
  message: Schema.String,
  key: Schema.String,
  /** The route's port is taken (by another route or another program): another port may do. */
  portInUse: Schema.optionalKey(Schema.Boolean)
}) {}

export interface TrafficRouterShape {
  /**
   * Opens the route (listening on its port) or changes its upstreams and weights in place. New requests
   * follow the new weights at once; requests in flight finish on the upstream they started on.
   */
  readonly setRoute: (route: RouteSpec) => Effect.Effect<void, RouterFailed>
  /** Stops listening once the requests in flight have finished (or after `graceMs`). */
  readonly removeRoute: (key: string, graceMs?: number) => Effect.Effect<void>
  readonly routes: () => Effect.Effect<ReadonlyArray<RouteSpec>>
  readonly metrics: (key: string) => Effect.Effect<RouteMetrics | undefined>
  /** Waits until no request is in flight to `upstreamId` on the route (true), or `timeoutMs` passed (false). */
  readonly drain: (key: string, upstreamId: string, timeoutMs: number) => Effect.Effect<boolean>
}

/** The built-in weighted HTTP reverse proxy (see `infra/router/`). */
export class TrafficRouter extends Context.Service<TrafficRouter, TrafficRouterShape>()("umbra/TrafficRouter") {}
