import { Effect } from "effect"
import { type ClientLaunchRow, liveIndex, type LiveInstanceRow, type OpenLaunchRow } from "../../projections/liveIndex.ts"
import { makeProjectionRunner } from "./projectionRunner.ts"
import { ProjectionStore } from "./projectionStore.ts"

/** Folds what the live index has not seen yet; start-up does this once, before anything reads the index. */
export const catchUpLiveIndex = Effect.gen(function* () {
  yield* (yield* makeProjectionRunner(liveIndex)).catchUp()
})

/** Keeps the live index folding the log, so that the next start has little to catch up. */
export const followLiveIndex = Effect.gen(function* () {
  yield* (yield* makeProjectionRunner(liveIndex)).follow
})

const rowsOf = <Row>(prefix: string) =>
  ProjectionStore.use((rows) => rows.rows(liveIndex.name, prefix)).pipe(Effect.map((found) => found.map(({ value }) => value as Row)))

/** What is live now, as the index has it. */
export const live = {
  tenants: rowsOf<{ readonly tenant: string }>("tenant/").pipe(Effect.map((rows) => new Set(rows.map((row) => row.tenant)))),
  instances: rowsOf<LiveInstanceRow>("instance/"),
  openLaunches: rowsOf<OpenLaunchRow>("launch/"),
  clientLaunches: rowsOf<ClientLaunchRow>("client-launch/")
}
