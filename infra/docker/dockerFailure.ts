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

/** A dockerode failure of `what` on an instance as the runtime's error, saying whether the engine answered at all. */
export const failure = (instanceId: string, what: string) => (cause: unknown) => {
  // An archive stream that failed while the engine read it surfaces as its own error.
  if (cause instanceof RuntimeFailed) return cause
  const error = cause as DockerError | undefined
  const detail = error?.json?.message ?? error?.message ?? String(cause)
  const engineUnavailable = error?.statusCode === undefined && error?.code !== undefined && unreachable.has(error.code)
  return new RuntimeFailed({ instanceId, message: `docker ${what} of ${instanceId} failed: ${detail}`, engineUnavailable })
}
