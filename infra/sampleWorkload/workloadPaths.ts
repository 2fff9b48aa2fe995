const firstPath = (variable: string) => process.env[variable]?.split(",")[0]?.trim() || undefined

/** Where the sample keeps what is its client's: its identity. */
export const stateDir = firstPath("UMBRA_STATE_PATHS") ?? "/var/lib/umbra/state"

/** The template's first shared path, if it declares one: caches of the image's, kept by a pooled shadow. */
export const sharedDir = firstPath("UMBRA_SHARED_STATE_PATHS")

/**
 * The cache is the client's to carry to production only when there is no shared path for it. It is not the
 * client's in either case: it is computed from the image's code and the template's settings alone (see
 * `warmCache.ts`), which every client that may claim this shadow from the pool shares. Nothing a request
 * brings is ever written there.
 */
export const cacheDir = sharedDir ?? stateDir
