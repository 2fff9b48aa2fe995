import { assert, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { eventStreamRoute } from "../../infra/dashboard/eventStreamRoute.ts"
import { serveHttp } from "../../infra/http/httpServer.ts"
import { loadDashboardKey, operatorToken, tenantToken } from "../../infra/dashboard/dashboardTokens.ts"
import { addTenant, revokeTenant } from "../../infra/natsAuth/tenantCredentials.ts"
import { ControlPlaneHttp, controlPlaneTestLayer, requestRaw, send, TestDataDir } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { deployAs } from "../support/readModelSpec.ts"
import { recordForecast } from "../support/recordedForecasts.ts"

const cli = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: { readonly ok: boolean; readonly result?: unknown; readonly error?: { readonly tag: string; readonly message: string; readonly details: unknown } }
}

/** A GET of the control plane's HTTP endpoint, with a bearer token when given. */
const get = (path: string, token?: string, init: RequestInit = {}) =>
  Effect.gen(function* () {
    const http = (yield* ControlPlaneHttp)!
    return yield* Effect.promise(async (): Promise<Answer> => {
      const response = await fetch(`http://${http.host}:${http.port}${path}`, {
        ...init,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(init.headers as Record<string, string> | undefined) }
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text.startsWith("{") ? JSON.parse(text) : { ok: false } }
    })
  })

/** The same query over NATS, as the gateway answers it. */
const ask = (tenant: string, name: string, body: unknown) => requestRaw(`umbra.query.${tenant}.${name}`, JSON.stringify(body))

const tokens = Effect.gen(function* () {
  const key = yield* loadDashboardKey(yield* TestDataDir)
  return { acme: tenantToken(key, "acme", 0), beta: tenantToken(key, "beta", 0), operator: operatorToken(key) }
})

/** How many consumers UMBRA_EVENTS and UMBRA_SIGNALS have: a stream of events holds one of each while it is open. */
const consumerCount = Effect.gen(function* () {
  const nc = yield* NatsConnection
  return yield* Effect.promise(async () => {
    const jsm = await jetstreamManager(nc)
    let count = 0
    for (const stream of [streamNames.events, streamNames.signals]) count += (await jsm.consumers.list(stream).next()).length
    return count
  })
})

/**
 * Reads a server-sent event stream, running `poke` every 200 ms (a consumer follows from when it is made,
 * which is a moment after the response starts) until the text that arrived satisfies `until`; returns it.
 */
const sseUntil = <E, R>(path: string, token: string, poke: Effect.Effect<void, E, R>, until: (text: string) => boolean) =>
  Effect.gen(function* () {
    const http = (yield* ControlPlaneHttp)!
    const abort = new AbortController()
    const response = yield* Effect.promise(() =>
      fetch(`http://${http.host}:${http.port}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal })
    )
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/)
    let text = ""
    const reading = (async () => {
      const decoder = new TextDecoder()
      try {
        for await (const chunk of response.body!) text += decoder.decode(chunk as Uint8Array, { stream: true })
      } catch {
        // aborted
      }
    })()
    yield* eventually(poke.pipe(Effect.andThen(Effect.sleep("200 millis")), Effect.map(() => until(text))), 20_000, `${path} delivering`)
    abort.abort()
    yield* Effect.promise(() => reading)
    return text
  })

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "120 seconds" })("the dashboard's HTTP API", (it) => {
  it.effect("answers each route exactly as the NATS query does, for a tenant's own token and the operator's", () =>
    Effect.gen(function* () {
      const token = yield* tokens
      assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "c1", tier: "basic" })).ok)
      assert.isTrue((yield* send("beta", "ConnectClient", { clientId: "c9", tier: "premium" })).ok)
      const now = Date.now()
      yield* recordForecast("acme", "c1", [{ minutes: 60, predicted: 0.4, upper: 0.6 }], new Date(now).toISOString())
      assert.isTrue((yield* send("acme", "RequestProduction", { clientId: "c1", launchId: "l1" })).ok)
      yield* deployAs("acme", "shd-a", "c1")
      yield* deployAs("beta", "shd-z", "c9")
      yield* eventually(get("/api/acme/fleet", token.acme).pipe(Effect.map((a) => ((a.body.result as { instances: Array<unknown> }).instances.length) > 0)), 15_000, "acme's shadow")

      const window = `from=${now - 3_600_000}&to=${now + 7_200_000}`
      const pairs: ReadonlyArray<readonly [string, string, unknown]> = [
        ["/api/acme/fleet", "Fleet", {}],
        ["/api/acme/profiles/c1", "Profile", { clientId: "c1" }],
        ["/api/acme/forecasts/c1", "Forecast", { clientId: "c1" }],
        [`/api/acme/forecasts/c1?${window}`, "Forecast", { clientId: "c1", from: now - 3_600_000, to: now + 7_200_000 }],
        ["/api/acme/launches", "Launches", {}],
        ["/api/acme/launches?clientId=c1", "Launches", { clientId: "c1" }],
        ["/api/acme/profiles/nobody", "Profile", { clientId: "nobody" }]
      ]
      for (const [path, query, body] of pairs) {
        for (const bearer of [token.acme, token.operator]) {
          const http = yield* get(path, bearer)
          const nats: unknown = yield* ask("acme", query, body)
          assert.deepStrictEqual(http.body, nats, path)
          assert.strictEqual(http.status, http.body.ok ? 200 : 404, path)
          assert.strictEqual(http.headers.get("cache-control"), "no-store")
        }
      }
      // Liveness computes φ with the clock of the moment: the same rows, its fields as the query gives them.
      const liveness = yield* get("/api/acme/liveness", token.acme)
      assert.strictEqual(liveness.status, 200)
      assert.deepStrictEqual(Object.keys(liveness.body.result as object), Object.keys(((yield* ask("acme", "Liveness", {})) as unknown as { result: object }).result))
      const forecast = (yield* get(`/api/acme/forecasts/c1?${window}`, token.acme)).body.result as { window: { metrics: Array<{ forecast: Array<unknown> }> } }
      assert.strictEqual(forecast.window.metrics[0]?.forecast.length, 1)

      assert.deepStrictEqual((yield* get("/api/tenants", token.acme)).body.result, { tenants: ["acme"] })
      const seen = ((yield* get("/api/tenants", token.operator)).body.result as { tenants: Array<string> }).tenants
      assert.includeMembers(seen, ["acme", "beta"])
    }))

  it.effect("attacked: no token 401, a forged or altered token 401, another tenant's token 403 on its API and its events", () =>
    Effect.gen(function* () {
      const token = yield* tokens
      const routes = ["/api/beta/fleet", "/api/beta/liveness", "/api/beta/profiles/c9", "/api/beta/forecasts/c9", "/api/beta/launches", "/api/beta/events"]
      const [, acmeMac] = token.acme.split(".").slice(1)
      const forged = [
        `tenant.beta.${acmeMac}`, // acme's MAC under beta's name
        `tenant.beta.${"A".repeat(43)}`,
        `operator.${acmeMac}`,
        token.beta.slice(0, -1) + (token.beta.endsWith("A") ? "B" : "A"),
        `tenant.beta`,
        tenantToken(Buffer.alloc(32, 7), "beta", 0), // made with another key
        operatorToken(Buffer.alloc(32, 7))
      ]
      for (const path of routes) {
        const none = yield* get(path)
        assert.strictEqual(none.status, 401, path)
        assert.strictEqual(none.body.error?.tag, "Unauthorized")
        assert.strictEqual(none.headers.get("www-authenticate"), 'Bearer realm="umbra"')
        assert.strictEqual((yield* get(path, undefined, { headers: { authorization: `Basic ${btoa("beta:x")}` } })).status, 401, path)
        for (const bad of forged) assert.strictEqual((yield* get(path, bad)).status, 401, `${path} with ${bad.slice(0, 20)}…`)
        const other = yield* get(path, token.acme)
        assert.strictEqual(other.status, 403, path)
        assert.strictEqual(other.body.error?.tag, "Forbidden")
        assert.notInclude(JSON.stringify(other.body), "c9", "a refusal tells nothing of beta")
        if (path !== "/api/beta/events") assert.strictEqual((yield* get(path, token.operator)).status, 200, `the operator reads ${path}`)
      }
      assert.strictEqual((yield* get("/api/tenants")).status, 401)
      assert.strictEqual((yield* get("/api/tenants", forged[2])).status, 401)
      // Read-only: nothing but GET and HEAD, with any token.
      const post = yield* get("/api/acme/fleet", token.operator, { method: "POST", body: "{}" })
      assert.strictEqual(post.status, 405)
    }))

  it.effect("bad input is a typed 400: a tenant or client that is not a name, a window that is not one", () =>
    Effect.gen(function* () {
      const token = yield* tokens
      const invalidTenant = yield* get("/api/ac.me/fleet", token.operator)
      assert.deepStrictEqual([invalidTenant.status, invalidTenant.body.error?.tag], [400, "InvalidTenant"])
      assert.strictEqual((yield* get("/api/ACME/fleet", token.operator)).status, 400)
      for (const path of ["/api/acme/profiles/C1", "/api/acme/forecasts/c1?from=abc&to=1", "/api/acme/forecasts/c1?from=5", "/api/acme/forecasts/c1?from=9&to=1", "/api/acme/launches?clientId=x.y"]) {
        const refused = yield* get(path, token.acme)
        assert.deepStrictEqual([refused.status, refused.body.error?.tag], [400, "ValidationFailed"], path)
      }
      assert.strictEqual((yield* get("/api/acme/nothing", token.acme)).status, 404)
    }))

  it.effect("/api/<tenant>/events streams the tenant's events as they arrive, and none of another tenant's", () =>
    Effect.gen(function* () {
      const token = yield* tokens
      const consumersBefore = yield* consumerCount
      let n = 0
      const text = yield* sseUntil(
        "/api/acme/events",
        token.acme,
        Effect.gen(function* () {
          n += 1
          // beta's event is stored before acme's: were it let through, it would arrive first.
          assert.isTrue((yield* send("beta", "ConnectClient", { clientId: `b-live${n}`, tier: "basic" })).ok)
          assert.isTrue((yield* send("acme", "ConnectClient", { clientId: `a-live${n}`, tier: "basic" })).ok)
        }),
        (text) => /"clientId":"a-live\d+"/.test(text)
      )
      const events = text
        .split("\n\n")
        .filter((frame) => frame.includes("event: umbra"))
        .map((frame) => JSON.parse(frame.split("\n").find((line) => line.startsWith("data: "))!.slice(6)) as { tenant: string; type: string; data: { clientId?: string } })
      assert.isTrue(events.some((event) => event.type === "ClientConnected" && event.data.clientId?.startsWith("a-live") === true), text)
      assert.isTrue(events.every((event) => event.tenant === "acme"))
      assert.notInclude(text, "b-live")
      assert.match(text, /^retry: 2000\n\n/)
      assert.match(text, /id: \d+\nevent: umbra\n/)
      // The client has gone: its consumers go with it, nothing follows the bus for no one.
      yield* eventually(consumerCount.pipe(Effect.map((count) => count === consumersBefore)), 10_000, "the stream's consumers removed")
    }))

  it.effect("revoked: a tenant's token made before its credentials were revoked is refused and its open event stream ends; one made after works", () =>
    Effect.gen(function* () {
      const dataDir = yield* TestDataDir
      const http = (yield* ControlPlaneHttp)!
      const key = yield* loadDashboardKey(dataDir)
      yield* addTenant(dataDir, "gamma", join(dataDir, "gamma.creds"))
      const before = tenantToken(key, "gamma", 0)
      assert.strictEqual((yield* get("/api/gamma/fleet", before)).status, 200)
      const response = yield* Effect.promise(() => fetch(`http://${http.host}:${http.port}/api/gamma/events`, { headers: { authorization: `Bearer ${before}` } }))
      assert.strictEqual(response.status, 200)
      // Read to its end: the server closes it once the token no longer verifies.
      const ended = response.text()

      yield* revokeTenant(dataDir, "gamma")
      const refused = yield* get("/api/gamma/fleet", before)
      assert.strictEqual(refused.status, 401)
      assert.match(refused.body.error!.message, /revoked/)
      const closed = yield* Effect.promise(() => ended).pipe(Effect.timeout("20 seconds"))
      assert.match(closed, /^retry: 2000\n\n/)
      assert.strictEqual((yield* get("/api/gamma/fleet", tenantToken(key, "gamma", 1))).status, 200)
      assert.strictEqual((yield* get("/api/acme/fleet", (yield* tokens).acme)).status, 200, "another tenant's token is untouched")
    }))

  it.effect("a holder's token revoked with the CLI: refused at once and its open event stream ends; the tenant's other holders keep theirs", () =>
    Effect.gen(function* () {
      const dataDir = yield* TestDataDir
      const http = (yield* ControlPlaneHttp)!
      const umbra = (...args: ReadonlyArray<string>) =>
        Effect.callback<string>((resume) => {
          execFile(process.execPath, [cli, "tenant", ...args, "--json"], { env: { ...process.env, UMBRA_DATA_DIR: dataDir, UMBRA_LOG_LEVEL: "error" } }, (error, stdout) =>
            resume(error === null ? Effect.succeed(stdout) : Effect.die(error)))
        })
      const tokenOf = (holder: string) => umbra("token", "acme", "--holder", holder).pipe(Effect.map((out) => (JSON.parse(out) as { token: string }).token))
      const [alice, bob] = [yield* tokenOf("alice"), yield* tokenOf("bob")]
      assert.notStrictEqual(alice, bob)
      assert.strictEqual((yield* get("/api/acme/fleet", alice)).status, 200)
      const response = yield* Effect.promise(() => fetch(`http://${http.host}:${http.port}/api/acme/events`, { headers: { authorization: `Bearer ${alice}` } }))
      assert.strictEqual(response.status, 200)
      const ended = response.text()

      assert.deepStrictEqual(JSON.parse(yield* umbra("revoke-token", "acme", "--holder", "alice")), { tenant: "acme", holder: "alice", revocations: 1 })
      assert.strictEqual((yield* get("/api/acme/fleet", alice)).status, 401)
      yield* Effect.promise(() => ended).pipe(Effect.timeout("20 seconds"))
      assert.strictEqual((yield* get("/api/acme/fleet", bob)).status, 200, "another holder's token is untouched")
      assert.strictEqual((yield* get("/api/acme/fleet", (yield* tokens).acme)).status, 200, "so is the tenant's own")
      const renewed = yield* tokenOf("alice")
      assert.notStrictEqual(renewed, alice)
      assert.strictEqual((yield* get("/api/acme/fleet", renewed)).status, 200)
    }))

  it.effect("at most so many event streams are open at once: one more is a 503 until one closes; HEAD opens none", () =>
    Effect.gen(function* () {
      const key = yield* loadDashboardKey(yield* TestDataDir)
      const { host, port } = yield* serveHttp({ host: "127.0.0.1", port: 0 }, [yield* eventStreamRoute({ key, revocations: () => Effect.succeed(0), holderRevocations: () => Effect.succeed(0) }, 2)])
      const url = `http://${host}:${port}/api/acme/events`
      const headers = { authorization: `Bearer ${tenantToken(key, "acme", 0)}` }
      const aborts = [new AbortController(), new AbortController()]
      const open = (signal?: AbortSignal) => Effect.promise(() => fetch(url, { headers, ...(signal === undefined ? {} : { signal }) }))
      const head = yield* Effect.promise(() => fetch(url, { method: "HEAD", headers }))
      assert.strictEqual(head.status, 200)
      for (const abort of aborts) assert.strictEqual((yield* open(abort.signal)).status, 200)
      const refused = yield* open()
      assert.strictEqual(refused.status, 503)
      assert.strictEqual(refused.headers.get("retry-after"), "5")
      assert.strictEqual(((yield* Effect.promise(() => refused.json())) as { error: { tag: string } }).error.tag, "TooManyStreams")
      aborts[0]!.abort()
      const again = new AbortController()
      yield* eventually(open(again.signal).pipe(Effect.map((response) => response.status === 200)), 10_000, "a stream once one closed")
      again.abort()
      aborts[1]!.abort()
    }))
})
