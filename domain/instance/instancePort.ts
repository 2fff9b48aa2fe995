import { createHash } from "node:crypto"

const first = 20_000
const count = 10_000

/**
 * The port an instance may listen on when its template names none (the platform's `PORT` convention):
 * derived from its id, so it stays the same when the instance is recreated, and spread over 20000–29999
 * so that shadows sharing the host's network rarely meet. Hashing is computation, not I/O.
 */
export const instancePort = (instanceId: string): number =>
  first + (createHash("sha1").update(instanceId).digest().readUInt32BE(0) % count)
