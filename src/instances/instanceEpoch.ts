import type { InstanceState } from "../../domain/instance/instance.ts"

/**
 * One run of an instance: a new container (recreation) or a new client (claim from the pool) starts another.
 * The watchdog keys its commands by it, so a loss in one run never dedupes against a loss in an earlier one.
 */
export const epochOf = (tenant: string, instanceId: string, state: Extract<InstanceState, { readonly runtimeId: string }>) =>
  `${tenant}/${instanceId}/${state.runtimeId}/${state.recreations}/${state.spec.clientId}`
