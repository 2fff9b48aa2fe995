import { createHash } from "node:crypto"
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Result } from "effect"
import { bucketOf } from "../../infra/router/upstreamMetrics.ts"
import { layer as routerLayer, type RouterOptions } from "../../infra/router/trafficRouter.ts"
import { type RouteSpec, TrafficRouter, type Upstream } from "../../src/trafficRouter.ts"
import { eventually } from "../support/eventually.ts"

/** A request the test holds open until it calls `open`: in-flight requests without timing. */
const makeGate = () => {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

interface TestUpstream {
  readonly url: string
  /** TCP connections the upstream accepted so far. */
  readonly connections: () => number
  /** Connections open now. */
  readonly openConnections: () => number
  /** Paths of the requests it received, in order. */
  readonly received: Array<string>
  readonly headers: Array<IncomingHttpHeaders>
}

/**
 * A node:http upstream on 127.0.0.1: `handler` answers, by default with the upstream's name; `/fail` answers
 * 500, `/slow/<ms>` answers after that delay, `/held` once `gate` opens.
 */
const upstream = (
  name: string,
  options: { readonly gate?: Promise<void>; readonly handler?: (request: IncomingMessage, response: ServerResponse) => void } = {}
) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: ReturnType<typeof createServer>; readonly upstream: TestUpstream }>((resume) => {
      let connections = 0
      let open = 0
      const received: Array<string> = []
      const headers: Array<IncomingHttpHeaders> = []
      const server = createServer((incoming, response) => {
        received.push(incoming.url ?? "")
        headers.push(incoming.headers)
        if (options.handler !== undefined) return options.handler(incoming, response)
        const answer = () => response.writeHead(200, { "content-type": "text/plain" }).end(name)
        if (incoming.url === "/fail") return void response.writeHead(500).end(`${name} failed`)
        if (incoming.url?.startsWith("/slow/")) return void setTimeout(answer, Number(incoming.url.slice(6)))
        if (incoming.url === "/held") return void options.gate?.then(answer)
        answer()
      })
      server.on("connection", (socket) => {
        connections++
        open++
        socket.on("close", () => open--)
      })
      server.listen(0, "127.0.0.1", () => {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({ server, upstream: { url, connections: () => connections, openConnections: () => open, received, headers } }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ upstream }) => upstream))

/** A loopback URL nothing listens on: a port just freed. */
const deadUrl = Effect.callback<string>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}`)))
  })
})

interface Reply {
  readonly status: number
  readonly body: string
  readonly headers: IncomingHttpHeaders
}

const send = (
  port: number,
  options: { readonly method?: string; readonly path?: string; readonly headers?: OutgoingHttpHeaders; readonly body?: string } = {}
) =>
  Effect.callback<Reply, Error>((resume) => {
    const outgoing = request(
      { host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path ?? "/", headers: options.headers ?? {}, agent: false },
      (incoming) => {
        const chunks: Array<Buffer> = []
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk))
        incoming.on("end", () =>
          resume(Effect.succeed({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: incoming.headers })))
        incoming.on("error", (error) => resume(Effect.fail(error)))
      }
    )
    outgoing.on("error", (error) => resume(Effect.fail(error)))
    outgoing.end(options.body)
  })

const route = (key: string, upstreams: ReadonlyArray<Upstream>, port = 0): RouteSpec => ({ key, port, upstreams })

/** Opens the route and returns the port it listens on. */
const open = (spec: RouteSpec) =>
  Effect.gen(function* () {
    const router = yield* TrafficRouter
    yield* router.setRoute(spec)
    const opened = (yield* router.routes()).find((candidate) => candidate.key === spec.key)
    assert.isDefined(opened)
    return opened!.port
  })

const metricsOf = (key: string, id: string) =>
  Effect.gen(function* () {
    const metrics = yield* (yield* TrafficRouter).metrics(key)
    const found = metrics?.upstreams.find((candidate) => candidate.id === id)
    assert.isDefined(found, `metrics of ${id} on ${key}`)
    return found!
  })

const tally = (bodies: ReadonlyArray<string>) =>
  bodies.reduce<Record<string, number>>((counts, body) => ({ ...counts, [body]: (counts[body] ?? 0) + 1 }), {})

const times = (n: number) => Array.from({ length: n }, (_, i) => i)

const withRouter = (options: RouterOptions = {}) => Effect.provide(routerLayer(options))

describe("traffic router against real HTTP upstreams", () => {
  it.live("splits 95/5 into exactly 190 and 10 of 200 requests, and counts them per upstream", () =>
    Effect.gen(function* () {
      const a = yield* upstream("a")
      const b = yield* upstream("b")
      const port = yield* open(route("acme/c1", [{ id: "a", url: a.url, weight: 95 }, { id: "b", url: b.url, weight: 5 }]))
      const replies = yield* Effect.forEach(times(200), () => send(port), { concurrency: 8 })
      assert.deepStrictEqual(tally(replies.map((reply) => reply.body)), { a: 190, b: 10 })
      const metricsA = yield* metricsOf("acme/c1", "a")
      const metricsB = yield* metricsOf("acme/c1", "b")
      assert.deepStrictEqual([metricsA.requests, metricsA.errors, metricsA.inFlight], [190, 0, 0])
      assert.deepStrictEqual([metricsB.requests, metricsB.errors, metricsB.inFlight], [10, 0, 0])
    }).pipe(withRouter()))

  it.live("applies changed weights from the next request on, on the same port, keeping the counters of upstreams that stay", () =>
    Effect.gen(function* () {
      const router = yield* TrafficRouter
      const a = yield* upstream("a")
      const b = yield* upstream("b")
      const key = "acme/shift"
      const at = (weightA: number) => route(key, [{ id: "a", url: a.url, weight: weightA }, { id: "b", url: b.url, weight: 100 - weightA }])
      const port = yield* open(at(100))
      const sendTen = Effect.forEach(times(10), () => send(port).pipe(Effect.map((reply) => reply.body)))
      assert.deepStrictEqual(tally(yield* sendTen), { a: 10 })
      yield* router.setRoute(at(0))
      assert.deepStrictEqual(tally(yield* sendTen), { b: 10 })
      yield* router.setRoute(at(50))
      assert.deepStrictEqual(yield* sendTen, ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"])
      assert.strictEqual(yield* open(at(50)), port)
      assert.strictEqual((yield* metricsOf(key, "a")).requests, 15)
      assert.strictEqual((yield* metricsOf(key, "b")).requests, 15)

      yield* router.setRoute(route(key, [{ id: "b", url: b.url, weight: 100 }]))
      assert.deepStrictEqual((yield* router.metrics(key))?.upstreams.map((metrics) => metrics.id), ["b"])
      assert.deepStrictEqual(tally(yield* sendTen), { b: 10 })

      // An upstream moved to another URL (a recreated instance) keeps its id's counters.
      const c = yield* upstream("c")
      yield* router.setRoute(route(key, [{ id: "b", url: c.url, weight: 100 }]))
      assert.deepStrictEqual(tally(yield* sendTen), { c: 10 })
      assert.strictEqual((yield* metricsOf(key, "b")).requests, 35)
    }).pipe(withRouter()))

  it.live("reuses keep-alive connections to an upstream, at most maxSocketsPerUpstream at once", () =>
    Effect.gen(function* () {
      const a = yield* upstream("a")
      const port = yield* open(route("acme/pool", [{ id: "a", url: a.url, weight: 100 }]))
      // Each client request comes on a new connection; the router's side keeps one.
      yield* Effect.forEach(times(50), () => send(port))
      assert.strictEqual(a.connections(), 1)
      yield* Effect.forEach(times(64), () => send(port, { path: "/slow/5" }), { concurrency: 16 })
      assert.isAtMost(a.connections(), 4)
      assert.strictEqual((yield* metricsOf("acme/pool", "a")).requests, 114)
    }).pipe(withRouter({ maxSocketsPerUpstream: 4 })))

  it.live("passes 5xx answers through and counts them as errors, with every request in a latency bucket", () =>
    Effect.gen(function* () {
      const a = yield* upstream("a")
      const port = yield* open(route("acme/errors", [{ id: "a", url: a.url, weight: 100 }]))
      const statuses = yield* Effect.forEach(["/", "/fail", "/", "/fail", "/slow/40"], (path) =>
        send(port, { path }).pipe(Effect.map((reply) => reply.status)))
      assert.deepStrictEqual(statuses, [200, 500, 200, 500, 200])
      const metrics = yield* metricsOf("acme/errors", "a")
      assert.deepStrictEqual([metrics.requests, metrics.errors, metrics.inFlight], [5, 2, 0])
      assert.strictEqual(metrics.latencyBuckets.reduce((sum, n) => sum + n, 0), 5)
      // The one held 40 ms sits above the 30 ms bound (a lower bound only: the machine may be slow).
      assert.strictEqual(metrics.latencyBuckets.slice(bucketOf(30) + 1).reduce((sum, n) => sum + n, 0), 1)
    }).pipe(withRouter()))

  it.live("answers 502 for a refused upstream and 504 for one that does not answer in time, counting both as errors", () =>
    Effect.gen(function* () {
      const gate = makeGate()
      const dead = yield* deadUrl
      const mute = yield* upstream("mute", { gate: gate.opened })
      const other = yield* upstream("other")
      const refusedPort = yield* open(route("acme/refused", [{ id: "dead", url: dead, weight: 100 }, { id: "other", url: other.url, weight: 0 }]))
      const reply = yield* send(refusedPort)
      assert.strictEqual(reply.status, 502)
      assert.deepStrictEqual(other.received, [], "a weight-0 upstream takes no retry")
      const deadMetrics = yield* metricsOf("acme/refused", "dead")
      assert.deepStrictEqual([deadMetrics.requests, deadMetrics.errors], [1, 1])

      const mutePort = yield* open(route("acme/mute", [{ id: "mute", url: mute.url, weight: 100 }]))
      assert.strictEqual((yield* send(mutePort, { path: "/held" })).status, 504)
      const muteMetrics = yield* metricsOf("acme/mute", "mute")
      assert.deepStrictEqual([muteMetrics.requests, muteMetrics.errors, muteMetrics.inFlight], [1, 1, 0])
      gate.open()
    }).pipe(withRouter({ upstreamTimeoutMs: 300 })))

  it.live("retries a bodiless GET refused by its upstream once on another, but never a request with a body", () =>
    Effect.gen(function* () {
      const dead = yield* deadUrl
      const b = yield* upstream("b", {
        handler: (incoming, response) => {
          incoming.resume()
          incoming.on("end", () => response.writeHead(200).end("b"))
        }
      })
      const upstreams = [{ id: "dead", url: dead, weight: 50 }, { id: "b", url: b.url, weight: 50 }]
      const port = yield* open(route("acme/retry", upstreams))
      const replies = yield* Effect.forEach(times(10), () => send(port))
      assert.deepStrictEqual(replies.map((reply) => `${reply.status} ${reply.body}`), times(10).map(() => "200 b"))
      const deadMetrics = yield* metricsOf("acme/retry", "dead")
      assert.isAbove(deadMetrics.requests, 0)
      assert.strictEqual(deadMetrics.errors, deadMetrics.requests)
      assert.deepStrictEqual([(yield* metricsOf("acme/retry", "b")).requests, (yield* metricsOf("acme/retry", "b")).errors], [10, 0])

      // Over two requests a 50/50 route picks each upstream once: the POST sent to the dead one fails.
      const postPort = yield* open(route("acme/retry-post", upstreams))
      const posts = yield* Effect.forEach(times(2), () => send(postPort, { method: "POST", body: "payload" }))
      assert.deepStrictEqual(posts.map((reply) => reply.status).sort(), [200, 502])
    }).pipe(withRouter()))

  it.live("streams request and response bodies through without holding them", () =>
    Effect.gen(function* () {
      const echo = yield* upstream("echo", {
        handler: (incoming, response) => {
          response.writeHead(200, { "content-type": "application/octet-stream" })
          incoming.pipe(response)
        }
      })
      const port = yield* open(route("acme/echo", [{ id: "echo", url: echo.url, weight: 100 }]))
      // The second half is sent only once the first came back: a router holding either body would hang.
      const echoed = yield* Effect.callback<string, Error>((resume) => {
        const outgoing = request({ host: "127.0.0.1", port, method: "POST", path: "/echo", agent: false })
        outgoing.on("error", (error) => resume(Effect.fail(error)))
        outgoing.on("response", (incoming) => {
          let body = ""
          incoming.setEncoding("utf8")
          incoming.on("data", (chunk: string) => {
            const first = body === ""
            body += chunk
            if (first) outgoing.end("second half")
          })
          incoming.on("end", () => resume(Effect.succeed(body)))
        })
        outgoing.write("first half, ")
      }).pipe(Effect.timeout("10 seconds"))
      assert.strictEqual(echoed, "first half, second half")

      const large = Buffer.alloc(8 * 1024 * 1024, "umbra ").toString()
      const reply = yield* send(port, { method: "POST", path: "/echo", body: large })
      const digest = (text: string) => createHash("sha256").update(text).digest("hex")
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(digest(reply.body), digest(large))
    }).pipe(withRouter()))

  it.live("forwards end-to-end headers with x-forwarded-*, and drops hop-by-hop ones both ways", () =>
    Effect.gen(function* () {
      const a = yield* upstream("a", {
        handler: (_, response) => response.writeHead(200, { connection: "x-private", "x-private": "1", "x-public": "2" }).end("a")
      })
      const port = yield* open(route("acme/headers", [{ id: "a", url: a.url, weight: 100 }]))
      const reply = yield* send(port, {
        headers: { connection: "x-hop", "x-hop": "1", "x-kept": "yes", "proxy-authorization": "secret", te: "trailers" }
      })
      const seen = a.headers[0]!
      assert.strictEqual(seen["x-kept"], "yes")
      assert.isUndefined(seen["x-hop"])
      assert.isUndefined(seen["proxy-authorization"])
      assert.isUndefined(seen["te"])
      assert.strictEqual(seen["x-forwarded-for"], "127.0.0.1")
      assert.strictEqual(seen["x-forwarded-host"], `127.0.0.1:${port}`)
      assert.strictEqual(seen["x-forwarded-proto"], "http")
      assert.strictEqual(reply.headers["x-public"], "2")
      assert.isUndefined(reply.headers["x-private"])
    }).pipe(withRouter()))

  it.live("lets a request in flight on an upstream finish there after the route moved away, and drain() waits for it", () =>
    Effect.gen(function* () {
      const router = yield* TrafficRouter
      const gate = makeGate()
      const a = yield* upstream("a", { gate: gate.opened })
      const b = yield* upstream("b")
      const key = "acme/drain"
      const port = yield* open(route(key, [{ id: "a", url: a.url, weight: 100 }]))
      const held = yield* Effect.forkChild(send(port, { path: "/held" }))
      yield* eventually(Effect.sync(() => a.received.includes("/held")), 10_000, "the held request reaching a")
      assert.strictEqual((yield* metricsOf(key, "a")).inFlight, 1)

      yield* router.setRoute(route(key, [{ id: "b", url: b.url, weight: 100 }]))
      assert.strictEqual((yield* send(port)).body, "b")
      assert.isFalse(yield* router.drain(key, "a", 50))
      const drained = yield* Effect.forkChild(router.drain(key, "a", 30_000))
      gate.open()
      const reply = yield* Fiber.join(held)
      assert.deepStrictEqual([reply.status, reply.body], [200, "a"])
      assert.isTrue(yield* Fiber.join(drained))
      assert.isTrue(yield* router.drain(key, "a", 0))
      // Once drained, the dropped upstream's keep-alive pool is closed.
      yield* eventually(Effect.sync(() => a.openConnections() === 0), 10_000, "a's connections closed")
    }).pipe(withRouter()))

  it.live("removeRoute stops accepting at once and waits for the requests in flight", () =>
    Effect.gen(function* () {
      const router = yield* TrafficRouter
      const gate = makeGate()
      const a = yield* upstream("a", { gate: gate.opened })
      const port = yield* open(route("acme/remove", [{ id: "a", url: a.url, weight: 100 }]))
      const held = yield* Effect.forkChild(send(port, { path: "/held" }))
      yield* eventually(Effect.sync(() => a.received.includes("/held")), 10_000, "the held request reaching a")

      const removing = yield* Effect.forkChild(router.removeRoute("acme/remove", 30_000))
      yield* eventually(send(port).pipe(Effect.result, Effect.map(Result.isFailure)), 10_000, "new connections refused")
      assert.isUndefined(removing.pollUnsafe(), "removeRoute returned with a request in flight")
      assert.deepStrictEqual(yield* router.routes(), [])
      gate.open()
      assert.strictEqual((yield* Fiber.join(held)).body, "a")
      yield* Fiber.join(removing)
    }).pipe(withRouter()))

  it.live("removeRoute cuts off what is still in flight after the grace period", () =>
    Effect.gen(function* () {
      const router = yield* TrafficRouter
      const gate = makeGate()
      const a = yield* upstream("a", { gate: gate.opened })
      const port = yield* open(route("acme/cut", [{ id: "a", url: a.url, weight: 100 }]))
      const held = yield* Effect.forkChild(send(port, { path: "/held" }).pipe(Effect.result))
      yield* eventually(Effect.sync(() => a.received.includes("/held")), 10_000, "the held request reaching a")
      yield* router.removeRoute("acme/cut", 100)
      assert.isTrue(Result.isFailure(yield* Fiber.join(held)))
      gate.open()
    }).pipe(withRouter()))

  it.live("refuses routes it cannot serve with RouterFailed", () =>
    Effect.gen(function* () {
      const router = yield* TrafficRouter
      const a = yield* upstream("a")
      const refusal = (spec: RouteSpec) => router.setRoute(spec).pipe(Effect.flip)
      const one = (url: string, weight = 100) => route("acme/bad", [{ id: "a", url, weight }])
      for (const url of ["http://10.0.0.1:8080", "http://example.com:80", "https://127.0.0.1:8443", "http://127.0.0.1:8080/path", "nonsense"]) {
        const error = yield* refusal(one(url))
        assert.strictEqual(error._tag, "RouterFailed")
        assert.include(error.message, "loopback")
      }
      assert.include((yield* refusal(route("acme/bad", [{ id: "a", url: a.url, weight: 60 }, { id: "b", url: a.url, weight: 30 }]))).message, "add up to 90, not 100")
      assert.include((yield* refusal(one(a.url, 99.5))).message, "not an integer")
      assert.include((yield* refusal(route("acme/bad", [{ id: "a", url: a.url, weight: 50 }, { id: "a", url: a.url, weight: 50 }]))).message, "twice")
      assert.deepStrictEqual(yield* router.routes(), [])

      const port = yield* open(route("acme/first", [{ id: "a", url: a.url, weight: 100 }]))
      const taken = yield* refusal(route("acme/second", [{ id: "a", url: a.url, weight: 100 }], port))
      assert.include(taken.message, `port ${port}`)
      assert.isTrue(taken.portInUse, "another port may do")
      assert.isUndefined((yield* refusal(one("nonsense"))).portInUse)
      assert.deepStrictEqual((yield* router.routes()).map((spec) => spec.key), ["acme/first"])
    }).pipe(withRouter()))

  it.live("closes every route listener when its layer closes", () =>
    Effect.gen(function* () {
      const a = yield* upstream("a")
      const port = yield* Effect.gen(function* () {
        const port = yield* open(route("acme/scoped", [{ id: "a", url: a.url, weight: 100 }]))
        assert.strictEqual((yield* send(port)).status, 200)
        return port
      }).pipe(withRouter())
      const after = yield* send(port).pipe(Effect.result)
      assert.isTrue(Result.isFailure(after))
    }))
})
