import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { parseCidr, cidrContains } from "../../infra/docker/cidr.ts"
import { bridgeName, candidateSubnet, defaultSubnetPool, subnetsOutside } from "../../infra/docker/clientNetwork.ts"

const pool = parseCidr(defaultSubnetPool)!

describe("client networks", () => {
  it("a profile's subnets must lie inside the pool", () => {
    assert.deepStrictEqual(subnetsOutside(pool, ["10.200.3.0/24", "10.128.0.0/9", "10.255.255.0/28"]), [])
    assert.deepStrictEqual(
      subnetsOutside(pool, ["10.0.0.0/8", "127.0.0.0/8", "10.127.255.0/24", "192.168.1.0/24", "10.200.0.0/33", "nonsense"]),
      ["10.0.0.0/8", "127.0.0.0/8", "10.127.255.0/24", "192.168.1.0/24", "10.200.0.0/33", "nonsense"]
    )
  })

  it("a client's subnet is a /24 of the pool, the same on every restart, the next one on each attempt", () =>
    fc.assert(fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.stringMatching(/^[a-z0-9-]{1,20}$/), fc.nat(1000), (tenant, client, attempt) => {
      const subnet = candidateSubnet(pool, tenant, client, attempt)
      const parsed = parseCidr(subnet)!
      assert.strictEqual(parsed.prefix, 24)
      assert.isTrue(cidrContains(pool, parsed))
      assert.strictEqual(candidateSubnet(pool, tenant, client, attempt), subnet)
      assert.notStrictEqual(candidateSubnet(pool, tenant, client, attempt + 1), subnet)
    })))

  it("bridge names fit an interface name and keep tenants apart", () => {
    assert.match(bridgeName("acme", "web"), /^umb-[0-9a-f]{11}$/)
    assert.notStrictEqual(bridgeName("a-b", "c"), bridgeName("a", "b-c"))
  })
})
