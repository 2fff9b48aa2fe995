import type { Server } from "node:http"
import { Effect, Layer, Semaphore } from "effect"
import { RouterFailed, type RouteSpec, TrafficRouter } from "../../src/trafficRouter.ts"
import { routeHandler } from "./routeHandler.ts"
import { listen, portOf, stopAccepting } from "./routeListener.ts"
import { makeRouteUpstreams, type RouteUpstreams } from "./routeUpstreams.ts"
import { validateRoute } from "./routeValidation.ts"

export interface RouterOptions {
  /** A request fails with 504 when its upstream connection stays idle this long (default 30 s). */
  readonly upstreamTimeoutMs?: number
  /** Connections each upstream's keep-alive pool holds at most (default 256). */
  readonly maxSocketsPerUpstream?: number
  /** How long `removeRoute`, and closing the layer, wait for requests in flight by default (10 s). */
  readonly graceMs?: number
}

interface LiveRoute {
  spec: RouteSpec
  readonly server: Server
  readonly upstreams: RouteUpstreams
}

const describe = (spec: RouteSpec) => spec.upstreams.map((upstream) => `${upstream.id}=${upstream.weight}`).join(" ")

const log = (level: (message: string) => Effect.Effect<void>, message: string, annotations: Record<string, unknown>) =>
  level(message).pipe(Effect.annotateLogs({ component: "router", ...annotations }))

/** True once nothing is in flight to the upstream (to the whole route when undefined), false after `timeoutMs`. */
const idleWithin = (upstreams: RouteUpstreams, upstreamId: string | undefined, timeoutMs: number) =>
  Effect.callback<void>((resume) => {
    const cancel = upstreams.whenIdle(upstreamId, () => resume(Effect.void))
    if (cancel === undefined) return resume(Effect.void)
    return Effect.sync(cancel)
  }).pipe(
    Effect.as(true),
    Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.succeed(false) })
  )

const make = (options: RouterOptions) =>
  Effect.gen(function* () {
    const timeoutMs = options.upstreamTimeoutMs ?? 30_000
    const maxSockets = options.maxSocketsPerUpstream ?? 256
    const defaultGraceMs = options.graceMs ?? 10_000
    const live = new Map<string, LiveRoute>()
    // One change of the route table at a time, so two opens of one route cannot race for its port.
    const lock = yield* Semaphore.make(1)
    const runFork = Effect.runForkWith(yield* Effect.context<never>())

    const onFailure = (key: string) => (upstreamId: string, reason: string) => {
      runFork(log(Effect.logWarning, "upstream request failed", { route: key, upstream: upstreamId, reason }))
    }

    const open = (spec: RouteSpec) =>
      Effect.gen(function* () {
        const upstreams = makeRouteUpstreams(spec.upstreams, maxSockets)
        const server = yield* listen(spec.key, spec.port, routeHandler(upstreams, { timeoutMs, onFailure: onFailure(spec.key) })).pipe(
          Effect.tapError(() => Effect.sync(upstreams.destroy))
        )
        const route = { spec: { ...spec, port: portOf(server) }, server, upstreams }
        live.set(spec.key, route)
        yield* log(Effect.logInfo, "route opened", { route: spec.key, port: route.spec.port, upstreams: describe(spec) })
      })

    const change = (route: LiveRoute, spec: RouteSpec) =>
      Effect.gen(function* () {
        if (spec.port !== 0 && spec.port !== route.spec.port) {
          return yield* new RouterFailed({
            key: spec.key,
            message: `route ${spec.key} listens on port ${route.spec.port}; remove it before opening it on port ${spec.port}`
          })
        }
        route.upstreams.set(spec.upstreams)
        route.spec = { ...spec, port: route.spec.port }
        yield* log(Effect.logInfo, "route changed", { route: spec.key, port: route.spec.port, upstreams: describe(spec) })
      })

    /** Stops accepting at once, lets requests in flight finish for up to `graceMs`, then closes every connection. */
    const close = (route: LiveRoute, graceMs: number) =>
      Effect.gen(function* () {
        const closed = stopAccepting(route.server)
        const finished = yield* idleWithin(route.upstreams, undefined, graceMs)
        // Client connections first: what they cut off is abandoned, not counted as an upstream's failure.
        route.server.closeAllConnections()
        yield* Effect.promise(() => closed)
        route.upstreams.destroy()
        yield* log(Effect.logInfo, finished ? "route removed" : "route removed, requests still in flight cut off", {
          route: route.spec.key,
          port: route.spec.port,
          graceMs
        })
      })

    const setRoute = Effect.fn("TrafficRouter.setRoute")(function* (spec: RouteSpec) {
      yield* validateRoute(spec)
      yield* lock.withPermit(Effect.suspend(() => {
        const route = live.get(spec.key)
        return route === undefined ? open(spec) : change(route, spec)
      }))
    })

    const removeRoute = Effect.fn("TrafficRouter.removeRoute")(function* (key: string, graceMs: number = defaultGraceMs) {
      const route = yield* lock.withPermit(Effect.sync(() => {
        const found = live.get(key)
        live.delete(key)
        return found
      }))
      if (route !== undefined) yield* close(route, graceMs)
    })

    const drain = Effect.fn("TrafficRouter.drain")(function* (key: string, upstreamId: string, timeoutMs: number) {
      const route = live.get(key)
      if (route === undefined) return true
      return yield* idleWithin(route.upstreams, upstreamId, timeoutMs)
    })

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const routes = [...live.values()]
        live.clear()
        return Effect.forEach(routes, (route) => close(route, defaultGraceMs), { concurrency: "unbounded", discard: true })
      })
    )

    return TrafficRouter.of({
      setRoute,
      removeRoute,
      routes: () => Effect.sync(() => [...live.values()].map((route) => route.spec)),
      metrics: (key) =>
        Effect.sync(() => {
          const route = live.get(key)
          return route === undefined ? undefined : { key, port: route.spec.port, upstreams: route.upstreams.snapshot() }
        }),
      drain
    })
  })

/** The TrafficRouter port as the built-in weighted HTTP reverse proxy; closing the layer closes every route. */
export const layer = (options: RouterOptions = {}): Layer.Layer<TrafficRouter> => Layer.effect(TrafficRouter, make(options))
