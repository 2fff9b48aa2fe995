import type { RefinementSource } from "../domain/profile/profile.ts"
import type { Resources, Tier } from "../domain/profile/resources.ts"
import type { Network, Template } from "../domain/profile/template.ts"
import { patch, type Projection, upsert } from "./projection.ts"

/** One change of a profile's expectations, why, and who made it (the scaling engine, or the tenant by hand). */
export interface Refinement {
  readonly at: string
  readonly expected: Resources
  readonly previous: Resources
  readonly reason: string
  readonly source: RefinementSource
}

export interface ProfileRow {
  readonly clientId: string
  readonly tier: Tier
  readonly expected: Resources
  readonly basis: "tier" | "history"
  readonly template: Template
  readonly network: Network
  /** Oldest first, the newest `refinementsKept`. */
  readonly refinements: ReadonlyArray<Refinement>
}

/** The scaling engine refines at most every 5 minutes: 50 refinements cover at least four hours of them. */
export const refinementsKept = 50

export const profileKeys = { client: (tenant: string, clientId: string) => `${tenant}/${clientId}` }

/** Each client's shadow profile as it is now, with its latest refinements; a reconnected client keeps its history. */
export const profiles: Projection = {
  name: "profiles",
  // 2: refinements say who made them.
  version: 2,
  handles: new Set(["ProfileCreated", "ProfileRefined", "TemplateChanged", "NetworkChanged"]),
  apply: (event, envelope) => {
    const key = (clientId: string) => profileKeys.client(envelope.tenant, clientId)
    switch (event._tag) {
      case "ProfileCreated":
        return [
          upsert<ProfileRow>(key(event.clientId), (row) => ({
            clientId: event.clientId,
            tier: event.tier,
            expected: event.expected,
            basis: event.basis,
            template: event.template,
            network: event.network,
            refinements: row?.refinements ?? []
          }))
        ]
      case "ProfileRefined":
        return [
          patch<ProfileRow>(key(event.clientId), (row) => ({
            ...row,
            expected: event.expected,
            refinements: [...row.refinements, { at: envelope.at, expected: event.expected, previous: event.previous, reason: event.reason, source: event.source }].slice(-refinementsKept)
          }))
        ]
      case "TemplateChanged":
        return [patch<ProfileRow>(key(event.clientId), (row) => ({ ...row, template: event.template }))]
      case "NetworkChanged":
        return [patch<ProfileRow>(key(event.clientId), (row) => ({ ...row, network: event.network }))]
      default:
        return []
    }
  }
}
