import { LaunchEvent } from "../domain/launch/launch.ts"
import { foldLaunchTimeline, type LaunchTimelineFold } from "./launchTimeline.ts"
import { type Projection, put, upsert } from "./projection.ts"

export const launchesKeys = {
  /** Present once the client has connected: a query tells an unknown client from one with no launch. */
  client: (tenant: string, clientId: string) => `${tenant}/client/${clientId}`,
  launches: (tenant: string) => `${tenant}/launch/`,
  launch: (tenant: string, launchId: string) => `${tenant}/launch/${launchId}`
}

const launchEventTypes: ReadonlyArray<LaunchEvent["_tag"]> = LaunchEvent.members.map((member) => member.fields._tag.schema.literal)
const isLaunchEvent = (event: { readonly _tag: string }): event is LaunchEvent => (launchEventTypes as ReadonlyArray<string>).includes(event._tag)

/** Every launch's timeline (a row of `LaunchTimelineFold`), folded as its events arrive. */
export const launches: Projection = {
  name: "launches",
  /** 2: each weight step keeps the gate readings it passed with. */
  version: 2,
  handles: new Set(["ClientConnected", ...launchEventTypes]),
  apply: (event, envelope) => {
    if (event._tag === "ClientConnected") return [put(launchesKeys.client(envelope.tenant, event.clientId), { clientId: event.clientId })]
    if (!isLaunchEvent(event)) return []
    return [upsert<LaunchTimelineFold>(launchesKeys.launch(envelope.tenant, event.launchId), (row) => foldLaunchTimeline(row, event, envelope.at))]
  }
}
