import { RuntimeFailed } from "../../src/instanceRuntime.ts"

/** What dockerode rejects with: the engine's answer (`statusCode`, `json`), or the socket's own error (`code`). */
interface DockerError {
  readonly statusCode?: number
  readonly json?: { readonly message?: string }
  readonly code?: string
  readonly message?: string
}

/** Errors of the engine's socket itself: the engine is gone or restarting, not refusing what was asked. */
const unreachable = new Set(["ENOENT", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"])

export const statusOf = (cause: unknown) => (cause as DockerError | undefined)?.statusCode

/** The engine's answer to an image it does not have; the image's name is the tenant's own, from its template. */
const missingImage = /^No such image: ([\w./:@-]{1,255})$/i

/**
 * A dockerode failure of `what` on an instance as the runtime's error, saying whether the engine answered at
 * all. Only an image the engine lacks is told to the tenant: the engine's other messages name host paths.
 */
export const failure = (instanceId: string, what: string) => (cause: unknown) => {
  // An archive stream that failed while the engine read it surfaces as its own error.
  if (cause instanceof RuntimeFailed) return cause
  const error = cause as DockerError | undefined
  const detail = error?.json?.message ?? error?.message ?? String(cause)
  const engineUnavailable = error?.statusCode === undefined && error?.code !== undefined && unreachable.has(error.code)
  const image = error?.statusCode === 404 ? missingImage.exec(detail)?.[1] : undefined
  return new RuntimeFailed({
    instanceId,
    message: `docker ${what} of ${instanceId} failed: ${detail}`,
    engineUnavailable,
    ...(image === undefined ? {} : { tenantMessage: `no such image: ${image}` })
  })
}
