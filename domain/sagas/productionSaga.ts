import { Schema } from "effect"
import { LaunchId } from "../ids.ts"
import type { LaunchStage } from "../launch/launch.ts"
import type { Saga, SagaStep } from "./saga.ts"

/** The client's newest launch and whether the client is gone, from the steps this saga recorded. */
export const ProductionSagaState = Schema.Struct({ newestLaunch: Schema.optional(LaunchId), disconnected: Schema.optional(Schema.Boolean) })
export type ProductionSagaState = typeof ProductionSagaState.Type

/** Which launch's stage the runner looks up when the client disconnects. */
export interface LaunchLookup {
  readonly launchId: LaunchId
}

/** The stages in which a launch has a production instance serving the client. */
const serving: ReadonlyArray<LaunchStage> = ["completed", "released"]

const retire = (launchId: LaunchId) => [{ _tag: "RetireProduction", launchId } as const]

/**
 * Production's end for one client, as a decider: LaunchRequested → the launch is remembered;
 * ClientDisconnected → RetireProduction for the newest launch if it completed (its stage looked up and
 * recorded with the decision); a launch still under way then retires its production once it has released
 * the shadow (ShadowReleased while the client is gone), unless the client connected again meanwhile.
 */
export const productionSaga: Saga<ProductionSagaState, LaunchLookup, LaunchStage> = {
  name: "production",
  categories: ["client", "launch"],
  handles: ["LaunchRequested", "ClientConnected", "ClientDisconnected", "ShadowReleased"],
  keyOf: (event) => ("clientId" in event ? event.clientId : ""),
  initialState: {},
  evolve: (state, step: SagaStep) => {
    switch (step.event._tag) {
      case "ClientConnected":
        return { ...state, disconnected: false }
      case "ClientDisconnected":
        return { ...state, disconnected: true }
      case "LaunchRequested":
        return { ...state, newestLaunch: step.event.launchId }
      default:
        return state
    }
  },
  snapshot: { version: 1, schema: ProductionSagaState },
  lookup: (event, state) =>
    event._tag === "ClientDisconnected" && state.newestLaunch !== undefined ? { launchId: state.newestLaunch } : undefined,
  decide: ({ event, view }, state) => {
    if (event._tag === "ClientDisconnected") {
      return state.newestLaunch !== undefined && view !== undefined && serving.includes(view) ? retire(state.newestLaunch) : []
    }
    // Released after the client left: the launch was under way when it did. (Retiring twice appends nothing.)
    if (event._tag === "ShadowReleased" && state.disconnected === true) return retire(event.launchId)
    return []
  }
}
