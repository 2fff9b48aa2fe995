import { assert, describe, it } from "@effect/vitest"
import { errorReply } from "../../src/commands/commandGateway.ts"
import { DuplicateEventId } from "../../src/eventStore/errors.ts"

const decoded = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as { ok: false; error: { tag: string; message: string; details: Record<string, unknown> } }

describe("error replies", () => {
  it("a DuplicateEventId stored in another tenant's stream names nothing of that tenant", () => {
    const body = errorReply(new DuplicateEventId({ eventId: "e-1", stream: "client-beta.c1", storedIn: "instance-alpha.shd-x" }))
    const reply = decoded(body)
    assert.deepStrictEqual(reply.error.details, { eventId: "e-1", stream: "client-beta.c1" })
    assert.strictEqual(reply.error.tag, "DuplicateEventId")
    assert.notInclude(new TextDecoder().decode(body), "alpha")
  })

  it("a DuplicateEventId stored in a stream of the requester's own tenant says where", () => {
    const reply = decoded(errorReply(new DuplicateEventId({ eventId: "e-1", stream: "client-beta.c1", storedIn: "instance-beta.shd-x" })))
    assert.deepStrictEqual(reply.error.details, { eventId: "e-1", stream: "client-beta.c1", storedIn: "instance-beta.shd-x" })
  })

  it("a DuplicateEventId in a stream of no tenant's shape names no other stream", () => {
    const reply = decoded(errorReply(new DuplicateEventId({ eventId: "e-1", stream: "$system", storedIn: "$other" })))
    assert.deepStrictEqual(reply.error.details, { eventId: "e-1", stream: "$system" })
  })
})
