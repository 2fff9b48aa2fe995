import { chmod, mkdir, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { type InstanceKey, RuntimeFailed } from "../../src/instanceRuntime.ts"

/** Where the agent in a container finds its credentials (a read-only bind mount of one file). */
export const mountedCredentialsPath = "/run/umbra/nats.creds"

/** The host file mounted there; the dot occurs in no token, so no two keys share a file. */
export const credentialsSource = (dir: string, key: InstanceKey) => join(dir, `${key.tenant}.${key.instanceId}.creds`)

/**
 * Writes the instance's credentials for its container, in a directory only Umbra may enter. In place: a
 * bind mount holds the file itself, so a container created meanwhile sees what was written last. Readable
 * by every user in the container (an image may name its own), which holds this instance alone.
 */
export const writeMountedCredentials = (dir: string, key: InstanceKey, creds: Uint8Array) =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await chmod(dir, 0o700)
      const path = credentialsSource(dir, key)
      await chmod(path, 0o600).catch(() => undefined)
      await writeFile(path, creds, { mode: 0o600 })
      await chmod(path, 0o444)
    },
    catch: (cause) => new RuntimeFailed({ instanceId: key.instanceId, message: `cannot write the credentials of ${key.instanceId}: ${String(cause)}` })
  })

export const removeMountedCredentials = (dir: string, key: InstanceKey) =>
  Effect.tryPromise({
    try: () => rm(credentialsSource(dir, key), { force: true }),
    catch: (cause) => new RuntimeFailed({ instanceId: key.instanceId, message: `cannot remove the credentials of ${key.instanceId}: ${String(cause)}` })
  })
