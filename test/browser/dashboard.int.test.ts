// @module-tag browser
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { loadDashboardKey, operatorToken, tenantToken } from "../../infra/dashboard/dashboardTokens.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { loadOnEndpoint, newClientId, requestProduction } from "../support/launchHarness.ts"
import { recordForecast } from "../support/recordedForecasts.ts"
import { AgentNats, orchestratedControlPlaneOn, shadowOf, shadowTestSettings, streamTypes, testTenant } from "../support/shadowHarness.ts"

const chromiumPath = "/usr/bin/chromium"
const outputDir = join(import.meta.dirname, "..", "..", "test-output", "browser")
if (!existsSync(chromiumPath)) console.warn(`skipped: the dashboard's browser test needs ${chromiumPath} (Debian: apt-get install -y chromium)`)

const watched = testTenant("dw")
const other = testTenant("dx")

/** A free port of loopback for the control plane's HTTP endpoint, which the test must know to open the page. */
const freePort = Effect.callback<number>((resume) => {
  const probe = createServer()
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as { port: number }
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/** Where the control plane keeps its store, read models and dashboard key: the test mints tokens with that key. */
class Dashboard extends Context.Service<Dashboard, { readonly url: string; readonly dataDir: string }>()("umbra/test/Dashboard") {}

const controlPlane = Layer.unwrap(
  Effect.gen(function* () {
    const dataDir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-dashboard-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const httpPort = yield* freePort
    return orchestratedControlPlaneOn([watched, other], "process", shadowTestSettings, { dataDir, httpPort }).pipe(
      Layer.provideMerge(Layer.succeed(Dashboard, { url: `http://127.0.0.1:${httpPort}/`, dataDir })),
      Layer.provideMerge(AgentNats.direct),
      Layer.provideMerge(natsTestLayer)
    )
  })
)

/** Headless Debian chromium, closed with the scope. */
const browser = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    })
  ),
  (opened) => Effect.promise(() => opened.close())
)

/** The dashboard opened with `token` (handed over in the fragment, as `umbra tenant token` suggests). */
const openDashboard = (opened: Browser, token: string) =>
  Effect.gen(function* () {
    const { url } = yield* Dashboard
    const page = yield* Effect.promise(() => opened.newPage({ viewport: { width: 1400, height: 1000 } }))
    const problems: Array<string> = []
    page.on("pageerror", (error) => problems.push(String(error)))
    page.on("requestfailed", (request) => problems.push(`${request.url()} failed`))
    page.on("request", (request) => {
      if (!request.url().startsWith(url)) problems.push(`asked outside: ${request.url()}`)
    })
    yield* Effect.promise(() => page.goto(`${url}#token=${token}`))
    return { page, problems }
  })

const waitFor = (page: Page, selector: string, what: string, timeout = 60_000) =>
  Effect.tryPromise({ try: () => page.waitForSelector(selector, { timeout }), catch: () => new Error(`the dashboard did not show ${what} (${selector}) within ${timeout} ms`) }).pipe(
    Effect.orDie
  )

layer(controlPlane, { excludeTestServices: true, timeout: "300 seconds" })("the dashboard in a browser", (it) => {
  it.effect("shows a tenant's fleet, forecast chart and launch timeline, updated live as events arrive, and nothing of another tenant", () =>
    Effect.gen(function* () {
      const { dataDir } = yield* Dashboard
      const key = yield* loadDashboardKey(dataDir)
      const mine = newClientId()
      const theirs = newClientId()
      assert.isTrue((yield* send(watched, "ConnectClient", { clientId: mine, tier: "basic" })).ok)
      assert.isTrue((yield* send(other, "ConnectClient", { clientId: theirs, tier: "basic" })).ok)
      yield* eventually(shadowOf(watched, mine).pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
      const shadow = (yield* shadowOf(watched, mine))!
      const theirShadow = yield* Effect.gen(function* () {
        yield* eventually(shadowOf(other, theirs).pipe(Effect.map((id) => id !== undefined)), 20_000, "the other tenant's profile")
        return (yield* shadowOf(other, theirs))!
      })

      const opened = yield* browser
      const { page, problems } = yield* openDashboard(opened, tenantToken(key, watched, 0))
      const section = `section[data-tenant="${watched}"]`
      yield* waitFor(page, `${section}[data-live="true"]`, "the live connection")

      // The fleet: the shadow appears, then turns ready and heartbeats, as its events and beats arrive.
      yield* waitFor(page, `${section} table.fleet tr[data-instance="${shadow}"]`, "the shadow in the fleet")
      yield* eventually(streamTypes(`instance-${watched}.${shadow}`).pipe(Effect.map((types) => types.includes("InstanceReady"))), 90_000, "shadow ready")
      yield* waitFor(page, `${section} tr[data-instance="${shadow}"][data-state="ready"]`, "the shadow ready")
      yield* eventually(
        Effect.promise(() => page.$eval(`${section} tr[data-instance="${shadow}"] td.heartbeat`, (cell) => cell.textContent ?? "")).pipe(Effect.map((text) => /s ago$/.test(text))),
        30_000,
        "a heartbeat in the fleet"
      )

      // The chart: demand against forecast, drawn once the client has a forecast and redrawn as forecasts come.
      // (The scaling engine forecasts on complete 5-minute buckets; the test records forecasts the way it does.)
      const forecast = (horizons: ReadonlyArray<{ minutes: number; predicted: number; upper: number }>) => recordForecast(watched, mine, horizons)
      const chart = `${section} .chart[data-client="${mine}"][data-metric="cpu"]`
      const pointsInChart = Effect.promise(() => page.$eval(chart, (box) => Number(box.getAttribute("data-points")))).pipe(Effect.orElseSucceed(() => 0))
      yield* forecast([{ minutes: 60, predicted: 0.07, upper: 0.12 }])
      yield* waitFor(page, `${chart} canvas`, "the client's chart")
      const before = yield* pointsInChart
      assert.include(yield* Effect.promise(() => page.$eval(`${chart} .note`, (note) => note.textContent ?? "")), "holt")
      yield* forecast([{ minutes: 5, predicted: 0.05, upper: 0.08 }, { minutes: 30, predicted: 0.06, upper: 0.1 }])
      yield* eventually(pointsInChart.pipe(Effect.map((points) => points >= before + 2)), 30_000, "the new forecast in the chart")

      // A launch: its timeline appears and steps through the weights to the end, live, production joins the fleet.
      const launchId = yield* requestProduction(watched, mine)
      const load = yield* loadOnEndpoint(watched, launchId)
      const timeline = `${section} .launch[data-launch="${launchId}"]`
      yield* waitFor(page, timeline, "the launch's timeline")
      yield* waitFor(page, `${timeline} li[data-stage="weight-5"]`, "the first weight step", 120_000)
      yield* waitFor(page, `${section} tr[data-role="production"]`, "production in the fleet")
      yield* waitFor(page, `${timeline}[data-outcome="completed"] li[data-stage="weight-100"]`, "the launch completed at 100 %", 120_000)
      const result = yield* Effect.promise(() => load.stop())
      assert.deepStrictEqual(result.failures, [])
      const stages = yield* Effect.promise(() => page.$$eval(`${timeline} li[data-stage]`, (items) => items.map((item) => item.getAttribute("data-stage"))))
      assert.includeMembers(stages, ["queued", "provisioning", "transferred", "weight-5", "weight-25", "weight-50", "weight-100", "completed"])
      // Each step shows the gate readings it passed with, the last one's from the completion.
      for (const step of ["weight-5", "weight-100"]) {
        const passed = yield* Effect.promise(() => page.$eval(`${timeline} li[data-stage="${step}"] small.passed`, (small) => small.textContent ?? ""))
        assert.match(passed, /^\d+ req · \d+ errors · p99 \d+ ms · (hb p99 \d+ ms · )?held \d+\.\d s$/, step)
      }

      mkdirSync(outputDir, { recursive: true })
      yield* Effect.promise(() => page.screenshot({ path: join(outputDir, "dashboard-tenant.png"), fullPage: true }))

      // Nothing of the other tenant anywhere on this tenant's page; the other tenant's page nothing of this one.
      const html = yield* Effect.promise(() => page.content())
      for (const foreign of [other, theirs, theirShadow]) assert.notInclude(html, foreign)
      assert.deepStrictEqual(problems, [])
      const theirPage = yield* openDashboard(opened, tenantToken(key, other, 0))
      yield* waitFor(theirPage.page, `section[data-tenant="${other}"] tr[data-instance="${theirShadow}"]`, "the other tenant's shadow")
      const theirHtml = yield* Effect.promise(() => theirPage.page.content())
      for (const foreign of [watched, mine, shadow, launchId]) assert.notInclude(theirHtml, foreign)

      // The operator sees both.
      const operator = yield* openDashboard(opened, operatorToken(key))
      yield* waitFor(operator.page, `section[data-tenant="${watched}"] tr[data-instance="${shadow}"]`, "the watched tenant for the operator")
      yield* waitFor(operator.page, `section[data-tenant="${other}"] tr[data-instance="${theirShadow}"]`, "the other tenant for the operator")
      yield* Effect.promise(() => operator.page.screenshot({ path: join(outputDir, "dashboard-operator.png"), fullPage: true }))
    }).pipe(Effect.scoped), 300_000)
})
