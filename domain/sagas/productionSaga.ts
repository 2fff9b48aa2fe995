import { Option, Schema } from "effect"
import { LaunchId } from "../ids.ts"
import { LaunchRequested, type LaunchStage } from "../launch/launch.ts"
import type { Saga, SagaStep } from "./saga.ts"

/** The client's newest launch, from the LaunchRequested events this saga recorded. */
export const ProductionSagaState = Schema.Struct({ newestLaunch: Schema.optional(LaunchId) })
export type ProductionSagaState = typeof ProductionSagaState.Type

/** Which launch's stage the runner looks up when the client disconnects. */
export interface LaunchLookup {
  readonly launchId: LaunchId
}

const decodeLaunchRequested = Schema.decodeUnknownOption(LaunchRequested)

/** The stages in which a launch has a production instance serving the client. */
const serving: ReadonlyArray<LaunchStage> = ["completed", "released"]

/**
 * Production's end for one client, as a decider: LaunchRequested → the launch is remembered;
 * ClientDisconnected → RetireProduction for the newest launch if it completed (its stage looked up and
 * recorded with the decision). A launch still under way, rolled back or already retired keeps what it has.
 */
export const productionSaga: Saga<ProductionSagaState, LaunchLookup, LaunchStage> = {
  name: "production",
  categories: ["client", "launch"],
  handles: ["LaunchRequested", "ClientDisconnected"],
  keyOf: (event) => ("clientId" in event ? event.clientId : ""),
  initialState: {},
  evolve: (state, step: SagaStep) => {
    if (step.input.type !== "LaunchRequested") return state
    return Option.match(decodeLaunchRequested({ ...(step.input.data as object), _tag: "LaunchRequested" }), {
      onNone: () => state,
      onSome: (requested) => ({ newestLaunch: requested.launchId })
    })
  },
  snapshot: { version: 1, schema: ProductionSagaState },
  lookup: (event, state) =>
    event._tag === "ClientDisconnected" && state.newestLaunch !== undefined ? { launchId: state.newestLaunch } : undefined,
  decide: ({ event, view }, state) =>
    event._tag === "ClientDisconnected" && state.newestLaunch !== undefined && view !== undefined && serving.includes(view)
      ? [{ _tag: "RetireProduction", launchId: state.newestLaunch }]
      : []
}
