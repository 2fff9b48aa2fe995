import { createHash } from "node:crypto"
import type { InstanceId } from "../ids.ts"

/** The production instance of a launch: a function of the launch, so a resumed launch finds the container it made. */
export const productionInstanceId = (tenant: string, launchId: string): InstanceId =>
  `prd-${createHash("sha1").update(`${tenant}/${launchId}`).digest("hex").slice(0, 16)}` as InstanceId
