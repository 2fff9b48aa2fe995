import { assert, describe, it } from "@effect/vitest"
import { startLoad } from "../../infra/demo/loadGenerator.ts"

const bounds = { clients: 1, maxRequests: 1, maxMs: 1_000 }

describe("the load generator", () => {
  it("refuses every target but loopback HTTP", () => {
    for (const url of ["http://10.0.0.1/", "http://example.com/", "https://127.0.0.1/", "http://127.0.0.1.example.com/", "http://0.0.0.0:80/"]) {
      assert.throws(() => startLoad(url, bounds), /loopback/, url)
    }
  })

  it("sends to loopback, bounded in count", async () => {
    // Nothing listens on port 1: the one request it may send fails, and it stops there.
    const result = await startLoad("http://127.0.0.1:1/", bounds).stop()
    assert.isAtMost(result.requests, 1)
  })
})
