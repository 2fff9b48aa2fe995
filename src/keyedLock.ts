import { Effect, Semaphore } from "effect"

/**
 * One permit per key, held only while someone uses it: work on the same key runs one at a time in this
 * process (so concurrent commands on one stream queue instead of racing), different keys run freely.
 */
export const makeKeyedLock = () => {
  const held = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let entry = held.get(key)
      if (entry === undefined) {
        entry = { semaphore: Semaphore.makeUnsafe(1), users: 0 }
        held.set(key, entry)
      }
      const current = entry
      current.users++
      return Semaphore.withPermit(current.semaphore, effect).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (--current.users === 0) held.delete(key)
          })
        )
      )
    })
}
