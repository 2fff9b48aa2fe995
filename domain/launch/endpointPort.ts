import { portFromKey } from "../instance/instancePort.ts"

/**
 * The loopback port of a client's endpoint on the traffic router: derived from tenant and client, so it
 * survives a restart of Umbra and a change of the instances behind it; 30000–39999, apart from instances.
 */
export const endpointPort = (tenant: string, clientId: string): number => portFromKey(`${tenant}/${clientId}`, 30_000, 10_000)
