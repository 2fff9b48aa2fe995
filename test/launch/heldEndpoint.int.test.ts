import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { layer as routerLayer } from "../../infra/router/trafficRouter.ts"
import { TrafficRouter } from "../../src/trafficRouter.ts"

/** A loopback upstream answering 200 "production". */
const production = Effect.acquireRelease(
  Effect.callback<ReturnType<typeof createServer>>((resume) => {
    const server = createServer((_, response) => void response.writeHead(200).end("production"))
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
)

const get = (port: number) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}/`).then(async (response) => ({ status: response.status, body: await response.text() })))

describe("a client's endpoint while its production is lost", () => {
  it.live("held with no upstream, it keeps its port and answers 503; given production again, it serves", () =>
    Effect.gen(function* () {
      const router = yield* TrafficRouter
      const server = yield* production
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      yield* router.setRoute({ key: "acme/c1", port: 0, upstreams: [{ id: "prd-1", url, weight: 100 }] })
      const port = (yield* router.routes())[0]!.port
      assert.deepStrictEqual(yield* get(port), { status: 200, body: "production" })
      yield* router.setRoute({ key: "acme/c1", port, upstreams: [] })
      assert.strictEqual((yield* get(port)).status, 503)
      yield* router.setRoute({ key: "acme/c1", port, upstreams: [{ id: "prd-1", url, weight: 100 }] })
      assert.deepStrictEqual(yield* get(port), { status: 200, body: "production" })
    }).pipe(Effect.provide(routerLayer({ graceMs: 100 }))))
})
