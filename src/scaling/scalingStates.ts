import { Context, type Effect } from "effect"
import type { TenantKey } from "../../domain/tenantKey.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"

/** Where the scaling engine keeps each client's forecasters and scores between ticks and across restarts. */
export class ScalingStates extends Context.Service<
  ScalingStates,
  {
    readonly load: (client: TenantKey) => Effect.Effect<unknown, StoreUnavailable>
    readonly save: (client: TenantKey, state: unknown) => Effect.Effect<void, StoreUnavailable>
  }
>()("umbra/ScalingStates") {}
