/**
 * The traffic router, next to the same load sent straight to its upstream in the same run:
 * - `router.throughput`: requests/s with 32 keep-alive clients, alternating rounds (like `compareRates`).
 * - `router.latency.p50` / `router.latency.p99`: what one sequential keep-alive client sees, reported as the
 *   inverse (1/s) so that `ratio = value / baseline = direct latency / routed latency` is higher-is-better.
 * The upstream and the load generator run in child processes (this file is their entry point), so the
 * router's event loop is its own; routed, three processes share the machine's cores, direct only two.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Agent, createServer, get } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { layer as routerLayer } from "../infra/router/trafficRouter.ts"
import { TrafficRouter } from "../src/trafficRouter.ts"
import { type Benchmark, compareRates, result } from "./benchmark.ts"
import { runQuiet } from "./runQuiet.ts"

const clients = 32
const throughput = { rounds: 4, maxCount: 80_000, maxMillis: 16_000 }
const latency = { rounds: 4, maxCount: 3_000, maxMillis: 2_000 }
const upstreamBody = "hello from an Umbra upstream\n"

interface LoadOrder {
  readonly port: number
  readonly clients: number
  readonly maxCount: number
  readonly maxMillis: number
  readonly latencies: boolean
}

interface LoadReport {
  readonly count: number
  readonly failed: number
  readonly latenciesMs: ReadonlyArray<number>
}

/** One GET on a keep-alive connection; true when answered 200. */
const getOnce = (agent: Agent, port: number) =>
  new Promise<boolean>((resolve) => {
    get({ agent, host: "127.0.0.1", port, path: "/" }, (response) => {
      response.resume()
      response.on("end", () => resolve(response.statusCode === 200))
      response.on("error", () => resolve(false))
    }).on("error", () => resolve(false))
  })

/** The load generator's side: `clients` loops of GETs until `maxCount` requests or `maxMillis` passed. */
const agents = new Map<number, Agent>()
const runLoad = async (order: LoadOrder): Promise<LoadReport> => {
  const agent = agents.get(order.port) ?? new Agent({ keepAlive: true, maxSockets: clients })
  agents.set(order.port, agent)
  const deadline = performance.now() + order.maxMillis
  const latenciesMs: Array<number> = []
  let started = 0
  let answered = 0
  let failed = 0
  const loop = async () => {
    while (started < order.maxCount && performance.now() < deadline) {
      started++
      const sent = performance.now()
      const ok = await getOnce(agent, order.port)
      if (order.latencies) latenciesMs.push(performance.now() - sent)
      if (ok) answered++
      else failed++
    }
  }
  await Promise.all(Array.from({ length: order.clients }, loop))
  return { count: answered, failed, latenciesMs }
}

/** Starts this file as a child process in `role`; it speaks over the IPC channel and exits with its parent. */
const startChild = (role: "upstream" | "load"): ChildProcess =>
  spawn(process.execPath, [import.meta.filename, role], { stdio: ["ignore", "ignore", "inherit", "ipc"] })

/** The child's next message, after sending it `message` when there is one. */
const ask = <A>(child: ChildProcess, message?: LoadOrder): Promise<A> =>
  new Promise((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`a router bench child process exited early (${code})`))
    child.once("exit", exited)
    child.once("message", (reply) => {
      child.off("exit", exited)
      resolve(reply as A)
    })
    if (message !== undefined) child.send(message)
  })

const sortedPercentile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN

const micros = (ms: number) => `${Math.round(ms * 1000)} µs`

const measure = async (load: ChildProcess, directPort: number, routedPort: number) => {
  const order = (port: number, options: Omit<LoadOrder, "port">) => ask<LoadReport>(load, { port, ...options })
  let failed = 0
  const counted = (report: LoadReport) => {
    failed += report.failed
    return report
  }
  // Warm-up: connections opened and both paths compiled before anything is timed.
  for (const port of [directPort, routedPort]) await order(port, { clients, maxCount: 4_000, maxMillis: 2_000, latencies: false })

  const turn = (port: number) => (maxCount: number, deadline: number) =>
    order(port, { clients, maxCount, maxMillis: Math.max(0, deadline - performance.now()), latencies: false }).then((report) => counted(report).count)
  const rates = await compareRates(throughput, turn(directPort), turn(routedPort))

  const direct: Array<number> = []
  const routed: Array<number> = []
  const sequential = { clients: 1, maxCount: latency.maxCount, maxMillis: latency.maxMillis, latencies: true }
  for (let round = 0; round < latency.rounds; round++) {
    direct.push(...counted(await order(directPort, sequential)).latenciesMs)
    routed.push(...counted(await order(routedPort, sequential)).latenciesMs)
  }
  direct.sort((a, b) => a - b)
  routed.sort((a, b) => a - b)
  return { rates, direct, routed, failed }
}

const run = async () => {
  const upstream = startChild("upstream")
  const load = startChild("load")
  try {
    const directPort = (await ask<{ readonly port: number }>(upstream)).port
    const measured = await runQuiet(
      Effect.gen(function* () {
        const router = yield* TrafficRouter
        yield* router.setRoute({
          key: "bench/router",
          port: 0,
          upstreams: [{ id: "upstream", url: `http://127.0.0.1:${directPort}`, weight: 100 }]
        })
        const routedPort = (yield* router.routes())[0]?.port ?? 0
        return yield* Effect.promise(() => measure(load, directPort, routedPort))
      }).pipe(Effect.provide(routerLayer()))
    )
    const { rates, direct, routed, failed } = measured
    const samples = `1 sequential keep-alive client, ${routed.length} routed / ${direct.length} direct requests in ${latency.rounds} alternating rounds`
    const latencyRow = (name: string, q: number) => {
      const routedMs = sortedPercentile(routed, q)
      const directMs = sortedPercentile(direct, q)
      return result(
        name,
        "1/s",
        1000 / routedMs,
        1000 / directMs,
        `inverse latency (ratio = direct / routed); routed ${micros(routedMs)}, direct ${micros(directMs)}, the router adds ${micros(routedMs - directMs)}; ${samples}`
      )
    }
    return [
      result(
        "router.throughput",
        "requests/s",
        rates.value.perSecond,
        rates.raw.perSecond,
        `${clients} keep-alive clients, GET of a ${upstreamBody.length} B answer; ${rates.value.count} routed / ${rates.raw.count} direct requests in ` +
          `${throughput.rounds} alternating rounds of ≤ ${throughput.maxCount / throughput.rounds} requests or ≤ ${throughput.maxMillis / throughput.rounds / 1000} s; ` +
          `${failed} failed in all`
      ),
      latencyRow("router.latency.p50", 0.5),
      latencyRow("router.latency.p99", 0.99)
    ]
  } finally {
    upstream.kill()
    load.kill()
  }
}

export const benchmarks: ReadonlyArray<Benchmark> = [{ name: "router", run }]

/** The children's side: a tiny upstream on 127.0.0.1, or the load generator taking orders. */
const serveUpstream = () => {
  const server = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/plain", "content-length": upstreamBody.length }).end(upstreamBody)
  })
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }))
}

const serveLoad = () => {
  process.on("message", (order: LoadOrder) => {
    void runLoad(order).then((report) => process.send?.(report))
  })
}

if (import.meta.filename === process.argv[1]) {
  process.on("disconnect", () => process.exit(0))
  if (process.argv[2] === "upstream") serveUpstream()
  if (process.argv[2] === "load") serveLoad()
}
