import { assert, describe, it } from "@effect/vitest"
import { endpointPortOf, endpointPorts } from "../../domain/launch/endpointPort.ts"

describe("a client's endpoint ports", () => {
  it("are distinct ports of 30000–39999 from the derived one on, wrapping at the end", () => {
    for (const clientId of ["c1", "c2", "a-long-client-name"]) {
      const ports = endpointPorts("acme", clientId)
      assert.strictEqual(new Set(ports).size, ports.length)
      assert.isTrue(ports.every((port) => port >= 30_000 && port < 40_000))
      for (let i = 1; i < ports.length; i++) assert.strictEqual(ports[i], ports[i - 1] === 39_999 ? 30_000 : ports[i - 1]! + 1)
    }
    assert.deepStrictEqual(endpointPorts("acme", "c1"), endpointPorts("acme", "c1"))
  })

  it("are the recorded one when the plan has it, else the derived one (a launch planned before plans recorded it)", () => {
    assert.strictEqual(endpointPortOf("acme", "c1", 31_234), 31_234)
    assert.strictEqual(endpointPortOf("acme", "c1", undefined), endpointPorts("acme", "c1")[0])
  })
})
