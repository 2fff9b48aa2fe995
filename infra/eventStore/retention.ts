import type { StreamMetadata } from "../../src/eventStore/eventStore.ts"

/**
 * The first revision that retention still shows, for a stream that holds revisions `firstStored` to
 * `lastRevision` (a scavenge may have removed those before `firstStored`), given its events' times.
 * Shared by the adapters that enforce retention themselves.
 */
export const firstVisibleRevision = (
  metadata: StreamMetadata,
  stored: { readonly firstStored: number; readonly lastRevision: number },
  nowMs: number,
  atOfRevision: (revision: number) => string | undefined
): number => {
  let first = Math.max(
    stored.firstStored,
    metadata.maxCount === undefined ? 0 : stored.lastRevision + 1 - metadata.maxCount
  )
  if (metadata.maxAge !== undefined) {
    const oldest = nowMs - metadata.maxAge * 1000
    while (first <= stored.lastRevision) {
      const at = atOfRevision(first)
      if (at === undefined || Date.parse(at) >= oldest) break
      first++
    }
  }
  return first
}
