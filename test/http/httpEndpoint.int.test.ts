import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { serveHttp } from "../../infra/http/httpServer.ts"
import { textResponse } from "../../infra/http/router.ts"
import { serveHttpEndpoint } from "../../infra/serve/httpEndpoint.ts"
import { ControlPlaneHttp, controlPlaneTestLayer, testConfig } from "../support/controlPlane.ts"

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

})

layer(controlPlaneTestLayer, { excludeTestServices: true })("the HTTP endpoint of a control plane", (it) => {
  it.effect("leaves the control plane serving without it when its port is taken, and says why", () =>
    Effect.gen(function* () {
      const taken = (yield* ControlPlaneHttp)!
      const refused = yield* serveHttp({ host: "127.0.0.1", port: taken.port }, hello).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "HttpServerFailed")
      assert.include(refused.message, "already in use")
      const endpoint = yield* serveHttpEndpoint({ ...testConfig("/nowhere", "nats://127.0.0.1:1"), httpPort: taken.port })
      assert.isUndefined(endpoint)
    }))

  it.effect("serves the dashboard's page, script, style and uPlot from the repository, with a policy that allows nothing from elsewhere", () =>
    Effect.gen(function* () {
      const { host, port } = (yield* ControlPlaneHttp)!
      for (const [path, type] of [["/", "text/html"], ["/dashboard.js", "text/javascript"], ["/dashboard.css", "text/css"], ["/vendor/uPlot.iife.min.js", "text/javascript"], ["/vendor/uPlot.min.css", "text/css"]]) {
        const response = yield* Effect.promise(() => fetch(`http://${host}:${port}${path}`))
        assert.strictEqual(response.status, 200, path)
        assert.include(response.headers.get("content-type") ?? "", type!, path)
        assert.include(response.headers.get("content-security-policy") ?? "", "default-src 'none'", path)
        const text = yield* Effect.promise(() => response.text())
        // The page and its script load and ask for nothing but this server's own paths.
        if (!path!.startsWith("/vendor/")) assert.notMatch(text, /(src|href)="(?!\/)|fetch\(["'`]https?:/, `${path} names nothing outside`)
      }
    }))
})
