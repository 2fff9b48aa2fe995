import { chown, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"
import type { WorkloadUser } from "./workloadUser.ts"

/** Where an instance's NATS credentials live: in its own directory, which only Umbra may write. */
export const credentialsFile = (instanceDir: string) => join(instanceDir, "nats.creds")

/**
 * Writes the instance's credentials afresh (never into a file that was there), readable only by who runs
 * its agent: the workload user when Umbra runs as root, else Umbra's own user.
 */
export const writeCredentialsFile = (instanceId: string, instanceDir: string, creds: Uint8Array, user: WorkloadUser | undefined) =>
  Effect.tryPromise({
    try: async () => {
      const path = credentialsFile(instanceDir)
      await rm(path, { force: true })
      await writeFile(path, creds, { mode: 0o600, flag: "wx" })
      if (user !== undefined) await chown(path, user.uid, user.gid)
    },
    catch: (cause) => new RuntimeFailed({ instanceId, message: `cannot write the credentials of ${instanceId}: ${String(cause)}` })
  })
