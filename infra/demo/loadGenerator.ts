import { Agent, request } from "node:http"

export interface LoadFailure {
  readonly atMs: number
  /** The status of a non-2xx answer, or the error of a request that got none. */
  readonly status?: number
  readonly error?: string
}

export interface LoadResult {
  readonly requests: number
  readonly ok: number
  readonly failures: ReadonlyArray<LoadFailure>
}

export interface LoadGenerator {
  /** Requests answered so far (any status). */
  readonly sent: () => number
  readonly failures: () => ReadonlyArray<LoadFailure>
  readonly stop: () => Promise<LoadResult>
}

const get = (agent: Agent, url: URL) =>
  new Promise<{ readonly status?: number; readonly error?: string }>((resolve) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, timeout: 10_000 }, (response) => {
      response.resume()
      response.once("end", () => resolve({ status: response.statusCode ?? 0 }))
      response.once("error", (error) => resolve({ error: error.message }))
    })
    req.once("timeout", () => req.destroy(new Error("timed out")))
    req.once("error", (error) => resolve({ error: error.message }))
    req.end()
  })

const loopback = new Set(["127.0.0.1", "localhost", "[::1]"])

/**
 * `clients` keep-alive loops sending GET `url` back to back until stopped, or until `maxRequests` or
 * `maxMs` (every load loop is bounded); a pause of `pauseMs` between requests keeps the rate modest.
 * Only a loopback URL is a target: a load generator aimed elsewhere would be an attack on someone.
 */
export const startLoad = (
  url: string,
  options: { readonly clients: number; readonly maxRequests: number; readonly maxMs: number; readonly pauseMs?: number }
): LoadGenerator => {
  const target = new URL(url)
  if (target.protocol !== "http:" || !loopback.has(target.hostname)) throw new Error(`load is sent to loopback HTTP only, not ${url}`)
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients })
  const started = performance.now()
  const failures: Array<LoadFailure> = []
  let requests = 0
  let ok = 0
  let stopped = false
  const loop = async () => {
    while (!stopped && requests < options.maxRequests && performance.now() - started < options.maxMs) {
      const answer = await get(agent, target)
      requests++
      if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) ok++
      else failures.push({ atMs: Date.now(), ...answer })
      if (options.pauseMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.pauseMs))
    }
  }
  const loops = Promise.all(Array.from({ length: options.clients }, loop))
  return {
    sent: () => requests,
    failures: () => failures,
    stop: async () => {
      stopped = true
      await loops
      agent.destroy()
      return { requests, ok, failures }
    }
  }
}
