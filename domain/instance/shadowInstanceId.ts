import { createHash } from "node:crypto"
import type { InstanceId } from "../ids.ts"

/**
 * The instance id of a client's shadow for one profile generation (the ProfileCreated event id): a function
 * of its inputs, so a redelivered event names the same instance and never starts a second container.
 */
export const shadowInstanceId = (tenant: string, clientId: string, generation: string): InstanceId =>
  `shd-${createHash("sha1").update(`${tenant}/${clientId}/${generation}`).digest("hex").slice(0, 16)}` as InstanceId
