import type { NonEmptyReadonlyArray } from "effect/Array"

const waiting = Symbol("waiting")

/**
 * The messages of an iterator in arrays of those that have already arrived (at most `max`), so that a
 * stream takes one step per array rather than one per message; a message alone is not held back. What has
 * arrived is what the iterator hands over before the next turn of the event loop; a request for a message
 * that has not arrived is kept for the next array.
 */
export const arrivedTogether = <T>(messages: AsyncIterable<T>, max: number): AsyncIterable<NonEmptyReadonlyArray<T>> => ({
  [Symbol.asyncIterator]: () => {
    const iterator = messages[Symbol.asyncIterator]()
    let ahead: Promise<IteratorResult<T>> | undefined
    let ended = false
    return {
      next: async (): Promise<IteratorResult<NonEmptyReadonlyArray<T>>> => {
        const first = ended ? undefined : await (ahead ?? iterator.next())
        ahead = undefined
        if (first === undefined || first.done === true) return { done: true, value: undefined }
        const arrived: [T, ...Array<T>] = [first.value]
        const turn = new Promise<typeof waiting>((resolve) => setImmediate(() => resolve(waiting)))
        while (arrived.length < max) {
          const request = iterator.next()
          const next = await Promise.race([request, turn])
          if (next === waiting) {
            ahead = request
            break
          }
          if (next.done === true) {
            ended = true
            break
          }
          arrived.push(next.value)
        }
        return { done: false, value: arrived }
      },
      return: async () => {
        const closing = iterator.return?.()
        // An async generator closes only after the request it is serving; the owner of the messages stops
        // them (which ends that request), so a close with a request still out does not wait for it.
        if (ahead === undefined) await closing
        return { done: true, value: undefined }
      }
    }
  }
})
