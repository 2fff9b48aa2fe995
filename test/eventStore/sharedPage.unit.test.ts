import { assert, describe, it } from "@effect/vitest"
import { sharedPage } from "../../infra/eventStore/sharedPage.ts"

/** A log of `head` numbered rows whose reads are counted, and a commit counter for the version. */
const log = () => {
  const state = { head: 0, commits: 0, reads: 0 }
  const read = (after: number, limit: number) => {
    state.reads++
    return Array.from({ length: Math.max(0, Math.min(limit, state.head - after)) }, (_, i) => after + i + 1)
  }
  return { state, page: sharedPage(read, () => state.commits) }
}

describe("sharedPage", () => {
  it("hands the page read last to the next reader after the same position until a commit", () => {
    const { state, page } = log()
    state.head = 3
    state.commits = 1
    assert.deepStrictEqual(page(0, 10), [1, 2, 3])
    assert.deepStrictEqual(page(0, 10), [1, 2, 3])
    assert.strictEqual(state.reads, 1)
    state.head = 5
    state.commits = 2
    assert.deepStrictEqual(page(0, 10), [1, 2, 3, 4, 5])
    assert.strictEqual(state.reads, 2)
  })

  it("reads again for another position or limit, and never keeps an empty page", () => {
    const { state, page } = log()
    state.head = 3
    assert.deepStrictEqual(page(1, 10), [2, 3])
    assert.deepStrictEqual(page(1, 1), [2])
    assert.deepStrictEqual(page(3, 10), [])
    assert.deepStrictEqual(page(3, 10), [])
    assert.strictEqual(state.reads, 4)
  })

  it("gives each reader its own array", () => {
    const { state, page } = log()
    state.head = 2
    const first = page(0, 10) as Array<number>
    first.push(99)
    assert.deepStrictEqual(page(0, 10), [1, 2])
  })
})
