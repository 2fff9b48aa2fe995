import type { StreamMetadata } from "./eventStore.ts"

/**
 * The first revision that retention still shows, for a stream whose last revision is `lastRevision`,
 * given its events' times. Shared by the adapters that enforce retention themselves.
 */
export const firstVisibleRevision = (
  metadata: StreamMetadata,
  lastRevision: number,
  nowMs: number,
  atOfRevision: (revision: number) => string | undefined
): number => {
  let first = metadata.maxCount === undefined ? 0 : Math.max(0, lastRevision + 1 - metadata.maxCount)
  if (metadata.maxAge !== undefined) {
    const oldest = nowMs - metadata.maxAge * 1000
    while (first <= lastRevision) {
      const at = atOfRevision(first)
      if (at === undefined || Date.parse(at) >= oldest) break
      first++
    }
  }
  return first
}
