import { portFromKey } from "../instance/instancePort.ts"

const first = 30_000
const count = 10_000
/** How many ports a new endpoint tries before its launch fails: enough that a crowded router still finds one. */
const tries = 32

/**
 * The loopback ports a client's endpoint may take on the traffic router, in the order it tries them: the
 * first derived from tenant and client, then the ones after it (30000–39999, apart from instances). Two
 * clients can derive the same port, so the port an endpoint took is recorded with its launch's plan.
 */
export const endpointPorts = (tenant: string, clientId: string): ReadonlyArray<number> => {
  const start = portFromKey(`${tenant}/${clientId}`, first, count) - first
  return Array.from({ length: tries }, (_, offset) => first + ((start + offset) % count))
}

/** The endpoint's port: the one its launch's plan recorded, else (a launch planned before plans recorded it) the derived one. */
export const endpointPortOf = (tenant: string, clientId: string, recorded: number | undefined): number =>
  recorded ?? endpointPorts(tenant, clientId)[0]!
