import { fleet } from "./fleet.ts"
import { forecasts } from "./forecasts.ts"
import { launches } from "./launches.ts"
import { liveIndex } from "./liveIndex.ts"
import { liveness } from "./liveness.ts"
import { profiles } from "./profiles.ts"
import type { Projection } from "./projection.ts"
import { tenant } from "./tenant.ts"

/** The read models the queries answer from; the control plane keeps each one folding the log. */
export const readModels: ReadonlyArray<Projection> = [fleet, liveness, profiles, forecasts, launches, tenant]

/** Every projection of the global log, by name: what `umbra replay --all` rebuilds. */
export const allProjections: ReadonlyArray<Projection> = [liveIndex, ...readModels]
