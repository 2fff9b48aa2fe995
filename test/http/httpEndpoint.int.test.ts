import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { serveHttp } from "../../infra/http/httpServer.ts"
import { textResponse } from "../../infra/http/router.ts"
import * as prometheusMetrics from "../../infra/metrics/prometheusMetrics.ts"
import { serveHttpEndpoint } from "../../infra/serve/httpEndpoint.ts"
import { testConfig } from "../support/controlPlane.ts"

const hello = [{ path: "/hello", handle: () => Effect.succeed(textResponse(200, "hello")) }]

describe("the HTTP endpoint", () => {
  it.live("serves on a free port, and frees it when its scope closes, kept-alive connections too", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const { host, port } = yield* serveHttp({ host: "127.0.0.1", port: 0 }, hello).pipe(Scope.provide(scope))
      const reply = yield* Effect.promise(() => fetch(`http://${host}:${port}/hello`, { keepalive: true }).then((r) => r.text()))
      assert.strictEqual(reply, "hello")
      yield* Scope.close(scope, Exit.void)
      // Listening again on the same port works only once it is free.
      const again = yield* serveHttp({ host: "127.0.0.1", port }, hello)
      assert.strictEqual(again.port, port)
    }))

  it.live("leaves the control plane serving without it when its port is taken, and says why", () =>
    Effect.gen(function* () {
      const taken = yield* serveHttp({ host: "127.0.0.1", port: 0 }, hello)
      const refused = yield* serveHttp({ host: "127.0.0.1", port: taken.port }, hello).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "HttpServerFailed")
      assert.include(refused.message, "already in use")
      const endpoint = yield* serveHttpEndpoint({ ...testConfig("/nowhere", "nats://127.0.0.1:1"), httpPort: taken.port })
      assert.isUndefined(endpoint)
    }).pipe(Effect.provide(prometheusMetrics.layer)))
})
