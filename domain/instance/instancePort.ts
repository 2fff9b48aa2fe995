import { createHash } from "node:crypto"

/** A port in `[first, first + count)` derived from a key: the same key gives the same port. Hashing is computation, not I/O. */
export const portFromKey = (key: string, first: number, count: number): number =>
  first + (createHash("sha1").update(key).digest().readUInt32BE(0) % count)

/**
 * The port an instance may listen on when its template names none (the platform's `PORT` convention):
 * derived from its id, so it stays the same when the instance is recreated, and spread over 20000–29999
 * so that shadows sharing the host's network rarely meet.
 */
export const instancePort = (instanceId: string): number => portFromKey(instanceId, 20_000, 10_000)
