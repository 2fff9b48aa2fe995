import { liveIndex } from "./liveIndex.ts"
import type { Projection } from "./projection.ts"

/** The read models the queries answer from; the control plane keeps each one folding the log. */
export const readModels: ReadonlyArray<Projection> = []

/** Every projection of the global log, by name: what `umbra replay --all` rebuilds. */
export const allProjections: ReadonlyArray<Projection> = [liveIndex, ...readModels]
