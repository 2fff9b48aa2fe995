import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeRouter, textResponse } from "../../infra/http/router.ts"

const route = makeRouter([
  { path: "/metrics", handle: () => Effect.succeed(textResponse(200, "metrics")) },
  { path: "/api/:tenant/fleet", handle: ({ params, query }) => Effect.succeed(textResponse(200, `${params["tenant"]} ${query.get("role") ?? ""}`)) }
])

describe("the HTTP router", () => {
  it.effect("answers from the route whose segments match, with the named ones decoded and the query", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* route("GET", "/metrics")).body, "metrics")
      assert.strictEqual((yield* route("GET", "/metrics/")).body, "metrics")
      assert.strictEqual((yield* route("GET", "/api/ac%2Dme/fleet?role=shadow")).body, "ac-me shadow")
      assert.strictEqual((yield* route("HEAD", "/metrics")).status, 200)
    }))

  it.effect("refuses what it does not serve: 404 elsewhere, 405 for another method, 400 for a path that does not decode", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* route("GET", "/api/acme")).status, 404)
      assert.strictEqual((yield* route("GET", "/metricsx")).status, 404)
      const post = yield* route("POST", "/metrics")
      assert.strictEqual(post.status, 405)
      assert.strictEqual(post.headers["allow"], "GET, HEAD")
      assert.strictEqual((yield* route("GET", "/api/%E0%A4%A/fleet")).status, 400)
    }))
})
