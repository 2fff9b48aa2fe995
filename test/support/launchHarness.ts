import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { LaunchTimeline } from "../../projections/launchTimeline.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { requestRaw, send } from "./controlPlane.ts"
import { eventually } from "./eventually.ts"
import { startLoad } from "../../infra/demo/loadGenerator.ts"
import { filesOf, listArchive } from "./stateArchives.ts"

/** The name of a launch's stream. */
export const launchStream = (tenant: string, launchId: string) => `launch-${tenant}.${launchId}`

/** Sends RequestProduction and returns the launch id the reply names. */
export const requestProduction = (tenant: string, clientId: string, priority = 0) =>
  Effect.gen(function* () {
    const reply = yield* send(tenant, "RequestProduction", { clientId, priority })
    if (!reply.ok) return yield* Effect.die(new Error(`RequestProduction refused: ${JSON.stringify(reply)}`))
    return reply.events![0]!.stream.slice(`launch-${tenant}.`.length)
  })

/** The `Launch` query's answer. */
export const queryLaunch = (tenant: string, launchId: string) =>
  requestRaw(`umbra.query.${tenant}.Launch`, JSON.stringify({ launchId })).pipe(
    Effect.map((reply) => reply as unknown as { readonly ok: boolean; readonly result?: LaunchTimeline & { readonly endpoint?: string } })
  )

/** The files of an instance's state path with their checksums. */
export const stateFiles = (tenant: string, instanceId: string, path: string) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    return filesOf(yield* listArchive(runtime.exportState({ tenant, instanceId }, path)).pipe(Effect.orDie))
  })

/** The URL of the launch's endpoint, once its plan has fixed the port (as the `Launch` query answers it). */
export const endpointOf = (tenant: string, launchId: string) =>
  Effect.gen(function* () {
    const endpoint = queryLaunch(tenant, launchId).pipe(Effect.map((reply) => reply.result?.endpoint))
    yield* eventually(endpoint.pipe(Effect.map((url) => url !== undefined)), 30_000, `the endpoint of launch ${launchId}`)
    return (yield* endpoint)!
  })

/** Load on the launch's endpoint from the moment it answers: keep-alive clients, bounded in count and time. */
export const loadOnEndpoint = (tenant: string, launchId: string) =>
  Effect.gen(function* () {
    const url = yield* endpointOf(tenant, launchId)
    const probe = Effect.promise(() => fetch(url).then((r) => r.ok, () => false))
    yield* eventually(probe, 30_000, `the endpoint ${url}`)
    return startLoad(url, { clients: 4, maxRequests: 200_000, maxMs: 180_000, pauseMs: 2 })
  })

export const newClientId = () => `c${randomUUID().slice(0, 6)}`
