import { Schema } from "effect"
import { InstanceId } from "../ids.ts"
import { ShadowResources } from "./sizingPolicy.ts"

/** InstanceResized as version 1 wrote it: before a resize said why. */
export const InstanceResizedV1 = Schema.Struct({
  instanceId: InstanceId,
  resources: ShadowResources,
  previous: ShadowResources
})

/** Until resizes said why, only the shadow saga resized, when a profile was refined. */
export const resizedBeforeReasons = "profile refined"

export const instanceResizedFromV1 = (v1: typeof InstanceResizedV1.Type) => ({ ...v1, reason: resizedBeforeReasons })
