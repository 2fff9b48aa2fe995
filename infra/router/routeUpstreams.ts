import { Agent } from "node:http"
import type { Upstream, UpstreamMetrics } from "../../src/trafficRouter.ts"
import type { ForwardTarget } from "./proxy.ts"
import { loopbackAddressOf } from "./routeValidation.ts"
import { makeCounters, recordFinished, recordStarted, snapshotOf, type UpstreamCounters } from "./upstreamMetrics.ts"
import { type WeightedChoice, weightedChoice } from "./weightedChoice.ts"

/** One upstream URL with its keep-alive pool; `active` counts the requests using the pool now. */
interface Pool extends ForwardTarget {
  readonly url: string
  active: number
  retired: boolean
}

/** An upstream as the route knows it: its counters stay while its id stays, even if its URL changes. */
export interface UpstreamState {
  readonly id: string
  weight: number
  pool: Pool
  readonly counters: UpstreamCounters
  readonly idleWaiters: Set<() => void>
}

/** What one request to one upstream holds while it runs. */
export interface Attempt {
  readonly target: ForwardTarget
  readonly finish: (failed: boolean) => void
}

/**
 * The upstreams of one route: the weighted choice among them, their counters, and their keep-alive pools.
 * An upstream the route stops naming stays here until its requests in flight have finished; a pool no
 * upstream uses any more is destroyed once its last request has finished.
 */
export interface RouteUpstreams {
  readonly set: (upstreams: ReadonlyArray<Upstream>) => void
  readonly choose: (except?: UpstreamState) => UpstreamState | undefined
  readonly begin: (upstream: UpstreamState) => Attempt
  /**
   * Calls `onIdle` once nothing is in flight to `upstreamId` (or to the whole route when undefined) and
   * returns how to cancel that; returns undefined when nothing is in flight already.
   */
  readonly whenIdle: (upstreamId: string | undefined, onIdle: () => void) => (() => void) | undefined
  readonly snapshot: () => ReadonlyArray<UpstreamMetrics>
  /** Closes every pool at once, connections in use included. */
  readonly destroy: () => void
}

export const makeRouteUpstreams = (upstreams: ReadonlyArray<Upstream>, maxSockets: number): RouteUpstreams => {
  const pools = new Set<Pool>()
  let named = new Map<string, UpstreamState>()
  const leaving = new Map<string, UpstreamState>()
  let choice: WeightedChoice<UpstreamState>
  let inFlight = 0
  const routeIdleWaiters = new Set<() => void>()

  const openPool = (url: string): Pool => {
    const address = loopbackAddressOf(url)
    // validateRoute has refused every other URL before a route gets here.
    if (address === undefined) throw new Error(`not a loopback URL: ${url}`)
    const pool: Pool = { ...address, url, agent: new Agent({ keepAlive: true, maxSockets }), active: 0, retired: false }
    pools.add(pool)
    return pool
  }
  const closePool = (pool: Pool) => {
    pool.agent.destroy()
    pools.delete(pool)
  }
  const retire = (pool: Pool) => {
    pool.retired = true
    if (pool.active === 0) closePool(pool)
  }
  const wake = (waiters: Set<() => void>) => {
    const woken = [...waiters]
    waiters.clear()
    for (const onIdle of woken) onIdle()
  }

  const set = (next: ReadonlyArray<Upstream>) => {
    const states = new Map<string, UpstreamState>()
    for (const upstream of next) {
      const known = named.get(upstream.id) ?? leaving.get(upstream.id)
      leaving.delete(upstream.id)
      const state = known ?? {
        id: upstream.id,
        weight: upstream.weight,
        pool: openPool(upstream.url),
        counters: makeCounters(),
        idleWaiters: new Set()
      }
      state.weight = upstream.weight
      // A new URL, or an upstream named again while its old pool drains: a fresh pool for the new requests.
      if (state.pool.retired || state.pool.url !== upstream.url) {
        retire(state.pool)
        state.pool = openPool(upstream.url)
      }
      states.set(upstream.id, state)
    }
    for (const [id, state] of named) {
      if (states.has(id)) continue
      retire(state.pool)
      if (state.counters.inFlight > 0) leaving.set(id, state)
    }
    named = states
    // A fresh choice: the new weights hold exactly from the next request on.
    choice = weightedChoice([...states.values()])
  }

  const begin = (upstream: UpstreamState): Attempt => {
    const pool = upstream.pool
    const started = performance.now()
    recordStarted(upstream.counters)
    pool.active++
    inFlight++
    return {
      target: pool,
      finish: (failed) => {
        recordFinished(upstream.counters, performance.now() - started, failed)
        pool.active--
        inFlight--
        if (pool.retired && pool.active === 0) closePool(pool)
        if (upstream.counters.inFlight === 0) {
          if (leaving.get(upstream.id) === upstream) leaving.delete(upstream.id)
          wake(upstream.idleWaiters)
        }
        if (inFlight === 0) wake(routeIdleWaiters)
      }
    }
  }

  const whenIdle = (upstreamId: string | undefined, onIdle: () => void) => {
    const state = upstreamId === undefined ? undefined : named.get(upstreamId) ?? leaving.get(upstreamId)
    const busy = upstreamId === undefined ? inFlight > 0 : state !== undefined && state.counters.inFlight > 0
    if (!busy) return undefined
    const waiters = state?.idleWaiters ?? routeIdleWaiters
    waiters.add(onIdle)
    return () => void waiters.delete(onIdle)
  }

  set(upstreams)
  return {
    set,
    choose: (except) => choice.next(except),
    begin,
    whenIdle,
    snapshot: () => [...named.values()].map((state) => snapshotOf(state.id, state.counters)),
    destroy: () => {
      for (const pool of pools) closePool(pool)
    }
  }
}
