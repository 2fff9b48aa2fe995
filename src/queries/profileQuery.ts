import { Effect } from "effect"
import { profileKeys, type ProfileRow, profiles } from "../../projections/profiles.ts"
import type { OfClient } from "./queryBodies.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { notFoundIn } from "./notFoundIn.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRow } from "./readModelRows.ts"

/** `umbra.query.<tenant>.Profile`: a client's expectations, basis, template and network, and its latest refinements. */
export const profileQuery = (tenant: string, query: typeof OfClient.Type) =>
  Effect.gen(function* () {
    const row = yield* readRow<ProfileRow>(profiles.name, profileKeys.client(tenant, query.clientId))
    if (row === undefined) return yield* notFoundIn(profiles.name, `client ${query.clientId} has no profile`, { clientId: query.clientId })
    return row
  }).pipe(fromReadModel(profiles.name), afterCatchingUp(profiles), Effect.withSpan("Query.Profile"))
