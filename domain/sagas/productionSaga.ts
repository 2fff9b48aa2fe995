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

/**
 * The launch whose stage decides, when the client is gone after this event: the event's own launch, or the
 * newest one known. The saga reads its categories on consumers of their own, so a redelivered
 * LaunchRequested may come after the client's disconnection, and ShadowReleased before it: whichever arrives
 * last, with the client gone and a launch known, looks the stage up.
 */
const launchToCheck = (event: SagaStep["event"], state: ProductionSagaState): LaunchId | undefined => {
  switch (event._tag) {
    case "ClientDisconnected":
      return state.newestLaunch
    case "LaunchRequested":
    case "ShadowReleased":
      return state.disconnected === true ? event.launchId : undefined
    default:
      return undefined
  }
}

/**
 * Production's end for one client, as a decider: LaunchRequested → the launch is remembered; once the
 * client has disconnected (and not connected again), RetireProduction for its launch if that launch is
 * serving (completed, or its shadow released), its stage looked up and recorded with the decision. A launch
 * still under way then retires its production once it has released the shadow. Retiring twice appends nothing.
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
  lookup: (event, state) => {
    const launchId = launchToCheck(event, state)
    return launchId === undefined ? undefined : { launchId }
  },
  decide: ({ event, view }, state) => {
    const launchId = launchToCheck(event, state)
    return launchId !== undefined && view !== undefined && serving.includes(view) ? [{ _tag: "RetireProduction", launchId }] : []
  }
}
