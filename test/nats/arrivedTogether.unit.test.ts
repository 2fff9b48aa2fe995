import { assert, describe, it } from "@effect/vitest"
import { arrivedTogether } from "../../infra/nats/arrivedTogether.ts"

/** Messages pushed from outside, as a subscription receives them; `stop` ends the iteration, as closing one does. */
const pushed = <T>() => {
  const queue: Array<T> = []
  let wake: (() => void) | undefined
  let stopped = false
  async function* iterate() {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!
      if (stopped) return
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  return {
    iterable: iterate(),
    push: (...values: Array<T>) => {
      queue.push(...values)
      wake?.()
    },
    stop: () => {
      stopped = true
      wake?.()
    }
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe("messages that arrived together", () => {
  it("given a burst, then one array of it (up to the maximum); a message alone is not held back", async () => {
    const source = pushed<number>()
    const arrays = arrivedTogether({ [Symbol.asyncIterator]: () => source.iterable }, 3)[Symbol.asyncIterator]()
    source.push(1, 2, 3, 4)
    assert.deepStrictEqual((await arrays.next()).value, [1, 2, 3])
    assert.deepStrictEqual((await arrays.next()).value, [4])
    const later = arrays.next()
    await nextTurn()
    source.push(5)
    assert.deepStrictEqual((await later).value, [5])
    source.stop()
    assert.isTrue((await arrays.next()).done)
  })

  it("closing while a request for the next message is out does not wait for that message", async () => {
    const source = pushed<number>()
    const arrays = arrivedTogether({ [Symbol.asyncIterator]: () => source.iterable }, 10)[Symbol.asyncIterator]()
    source.push(1)
    assert.deepStrictEqual((await arrays.next()).value, [1])
    // The array above ended on a request that nothing has answered: close now, then stop the source.
    const closed = arrays.return!()
    assert.isTrue((await closed).done)
    source.stop()
  })
})
