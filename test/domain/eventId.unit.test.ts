import { assert, describe, it } from "@effect/vitest"
import { eventIdFor } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"

const commandId = "0f0e0d0c-0b0a-4000-8000-000000000001" as CommandId

describe("event ids", () => {
  it("are a function of tenant, stream, command id and index: the same every time, another tenant's never", () => {
    const id = eventIdFor("acme", "client-acme.c1", commandId, 0)
    assert.strictEqual(eventIdFor("acme", "client-acme.c1", commandId, 0), id)
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const others = [
      eventIdFor("beta", "client-beta.c1", commandId, 0),
      eventIdFor("acme", "client-acme.c2", commandId, 0),
      eventIdFor("acme", "client-acme.c1", commandId, 1)
    ]
    assert.strictEqual(new Set([id, ...others]).size, 4)
  })
})
