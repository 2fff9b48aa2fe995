import { assert, describe, it } from "@effect/vitest"
import { publicCommandTypes } from "../../domain/commands.ts"
import { publicCommands } from "../../infra/client/umbraClient.ts"

describe("umbra/client public commands", () => {
  it("are the commands the aggregates declare public, no more and no fewer", () => {
    assert.deepStrictEqual([...publicCommands].sort(), [...publicCommandTypes].sort())
  })
})
