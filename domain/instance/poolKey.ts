import type { InstanceId } from "../ids.ts"
import type { Tier } from "../profile/resources.ts"
import type { Template } from "../profile/template.ts"

/** Which pooled shadows may serve a client: same image, tier and settings (a container's settings cannot change). */
export interface PoolKey {
  readonly image: string
  readonly tier: Tier
  /** The template's settings in a canonical form. */
  readonly settings: string
}

export const settingsKey = (settings: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

export const poolKeyOf = (tier: Tier, template: Template): PoolKey => ({ image: template.image, tier, settings: settingsKey(template.settings) })

/** Pooled shadows of one key, as the runner saw them when a step was decided. */
export interface PoolView {
  /** Recycled instances a new client may claim, best first. */
  readonly available: ReadonlyArray<InstanceId>
  /** Recycled instances kept for that key. */
  readonly size: number
}

export const emptyPool: PoolView = { available: [], size: 0 }
