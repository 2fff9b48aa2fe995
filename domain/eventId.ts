import { createHash } from "node:crypto"
import type { CommandId, EventId } from "./ids.ts"

// A fixed namespace for RFC 9562 name-based (v5) ids; hashing is pure computation, not I/O.
const namespace = Buffer.from("6f1d7a52b3c94e0f8a41d2c5e7b90a13", "hex")

/** A UUID that is a function of a name: the same name always gives the same id. */
export const nameBasedId = (name: string): string => {
  const hash = createHash("sha1").update(namespace).update(name).digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The id of the `index`-th event a command produces in `stream`: a retried command appends the same ids, and
 * the tenant and stream are part of the name, so another tenant's ids cannot be made from a command id alone.
 */
export const eventIdFor = (tenant: string, stream: string, commandId: CommandId, index: number): EventId =>
  nameBasedId(`${tenant}/${stream}/${commandId}/${index}`) as EventId
