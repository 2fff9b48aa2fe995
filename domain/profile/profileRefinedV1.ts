import { Schema } from "effect"
import { ClientId } from "../ids.ts"
import type { ProfileRefined, RefinementSource } from "./profile.ts"
import { Resources } from "./resources.ts"

/** ProfileRefined as version 1 wrote it: before it said who refined the profile. */
export const ProfileRefinedV1 = Schema.Struct({
  clientId: ClientId,
  expected: Resources,
  previous: Resources,
  reason: Schema.String
})

/**
 * Version 1 was written while the scaling engine still sent RefineProfile, like a tenant: its reasons were
 * the only mark, and they begin `forecast: ` or `fallback: `. Any other reason was a tenant's override.
 */
const scalingReason = /^(?:forecast|fallback): /

export const profileRefinedFromV1 = (v1: typeof ProfileRefinedV1.Type): Omit<typeof ProfileRefined.Encoded, "_tag"> => {
  const source: RefinementSource = scalingReason.test(v1.reason) ? "scaling" : "manual"
  return { ...v1, source }
}
