import { createServer } from "node:http"
import { randomBytes } from "node:crypto"
import { mkdir, rename, writeFile } from "node:fs/promises"
import { flushCompileCache } from "node:module"
import { join } from "node:path"
import { Config, Effect, Schema } from "effect"
import { runMain } from "../runMain.ts"
import { spendCpu } from "./cpuWarmUp.ts"
import { serveFromCache, warmCache } from "./warmCache.ts"
import { cacheDir, stateDir } from "./workloadPaths.ts"

/**
 * The sample workload of `umbra/sample-workload` (started by `server.ts`): an HTTP service whose cold start builds a cache (~1–2 s)
 * and whose warm start reuses it. The cache goes to its first shared path when the template declares one
 * (a pooled shadow keeps it for its next client), else beside its state. `/healthz` is 2xx once warm; `/`
 * serves work from the cache; the agent reads `requestsServed` from UMBRA_METRICS_FILE. It keeps its identity
 * (instance id and a random seed) in `identity.json` under its state path, which a state transfer must not
 * clone. With
 * SAMPLE_FAIL_ROLE set to its UMBRA_ROLE it answers every `/` with 500 while its health stays good: a
 * faulty release, for trying the traffic gates. With SAMPLE_WARM_CPU_MS its warm-up also spends that much CPU
 * time at every start: a CPU-heavy warm-up, for trying how the agent fares beside it within a small quota.
 */
const port = Number(process.env["PORT"] ?? "8080")
// Loopback on the host's own network; a container on its client's network is told to listen on all of its.
const host = process.env["HOST"] ?? "127.0.0.1"
const metricsFile = process.env["UMBRA_METRICS_FILE"]
const failing = process.env["SAMPLE_FAIL_ROLE"] !== undefined && process.env["SAMPLE_FAIL_ROLE"] === process.env["UMBRA_ROLE"]
const settings = {
  files: Number(process.env["SAMPLE_CACHE_FILES"] ?? "40"),
  rounds: Number(process.env["SAMPLE_CACHE_ROUNDS"] ?? "8000")
}

const writeMetrics = (metrics: Record<string, number>) =>
  metricsFile === undefined
    ? Effect.void
    : Effect.tryPromise(async () => {
      // Written whole then renamed, so the agent never reads half a file.
      await writeFile(`${metricsFile}.tmp`, JSON.stringify(metrics))
      await rename(`${metricsFile}.tmp`, metricsFile)
    }).pipe(Effect.ignore)

/** This instance's own identity, written at every start: a copy from another instance is never kept. */
const writeIdentity = async (dir: string) => {
  await mkdir(dir, { recursive: true })
  const identity = { instanceId: process.env["UMBRA_INSTANCE_ID"] ?? "local", seed: randomBytes(16).toString("hex") }
  await writeFile(join(dir, "identity.json"), JSON.stringify(identity))
}

/** At most ten minutes of CPU: a warm-up, not a workload of its own. */
const WarmCpuMs = Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 600_000 })), "SAMPLE_WARM_CPU_MS").pipe(
  Config.withDefault(0)
)

const program = Effect.gen(function* () {
  const warmCpuMs = yield* WarmCpuMs
  let warm = false
  let requestsServed = 0
  yield* Effect.acquireRelease(
    Effect.callback<ReturnType<typeof createServer>, Error>((resume) => {
      const server = createServer((request, response) => {
        if (request.url === "/healthz") {
          response.writeHead(warm ? 200 : 503).end(warm ? "warm\n" : "warming\n")
          return
        }
        if (!warm) {
          response.writeHead(503).end("warming\n")
          return
        }
        if (failing) {
          response.writeHead(500).end("failing on purpose (SAMPLE_FAIL_ROLE)\n")
          return
        }
        requestsServed++
        serveFromCache(cacheDir, settings, requestsServed).then(
          (digest) => response.writeHead(200, { "content-type": "text/plain" }).end(`${digest}\n`),
          (error: unknown) => response.writeHead(500).end(`${String(error)}\n`)
        )
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(port, host, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
  )
  yield* Effect.logInfo("sample workload listening").pipe(Effect.annotateLogs({ port, stateDir, cacheDir }))
  const started = Date.now()
  yield* Effect.tryPromise(() => writeIdentity(stateDir))
  yield* Effect.promise(() => spendCpu(warmCpuMs))
  const { reused } = yield* Effect.tryPromise(() => warmCache(cacheDir, settings))
  warm = true
  // Every module is loaded by now: their compiled code is kept even if the workload is killed later.
  flushCompileCache()
  const warmUpMs = Date.now() - started
  yield* Effect.logInfo(reused ? "cache reused (warm start)" : "cache built (cold start)").pipe(Effect.annotateLogs({ warmUpMs, warmCpuMs }))
  yield* Effect.suspend(() => writeMetrics({ requestsServed, warmUpMs, cacheReused: reused ? 1 : 0 })).pipe(
    Effect.andThen(Effect.sleep("500 millis")),
    Effect.forever
  )
})

runMain(program.pipe(Effect.scoped, Effect.as(0)), { disableErrorReporting: true })
