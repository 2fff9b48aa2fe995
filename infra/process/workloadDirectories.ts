import { chmod, lchown, lstat, mkdir, readdir, stat } from "node:fs/promises"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"
import type { WorkloadUser } from "./workloadUser.ts"

/**
 * Gives `path` and everything under it to `user`, children first: while a directory is walked it and its
 * parents are still Umbra's (and not writable by others meanwhile), so no process of the workload user can
 * swap an entry for a link under Umbra's hands. What the user owns already is its own: not walked at all.
 * Symlinks are changed themselves, never followed.
 */
const ownTree = async (path: string, user: WorkloadUser): Promise<void> => {
  const stats = await lstat(path)
  if (stats.uid === user.uid) return
  if (stats.isDirectory()) {
    const mode = stats.mode & 0o7777
    if ((mode & 0o022) !== 0) await chmod(path, mode & ~0o022)
    for (const name of await readdir(path)) await ownTree(join(path, name), user)
    await lchown(path, user.uid, user.gid)
    if ((mode & 0o022) !== 0) await chmod(path, mode)
    return
  }
  await lchown(path, user.uid, user.gid)
}

/**
 * Makes the workload's directories (its working directory and state) under the instance's directory and, when
 * it runs as another user, gives them to it (state imported by Umbra included). The instance's directory stays
 * Umbra's (its record, its log), open to the workload only to pass through: 0711, and its tenant's o+x.
 */
export const prepareWorkloadDirectories = (instanceId: string, dir: string, owned: ReadonlyArray<string>, user: WorkloadUser | undefined) =>
  Effect.tryPromise({
    try: async () => {
      for (const path of owned) await mkdir(path, { recursive: true })
      if (user === undefined) return
      await chmod(dir, 0o711)
      await chmod(dirname(dir), ((await lstat(dirname(dir))).mode & 0o7777) | 0o001)
      for (const path of owned) await ownTree(path, user)
    },
    catch: (cause) => new RuntimeFailed({ instanceId, message: `cannot prepare the directories of ${instanceId}: ${String(cause)}` })
  })

/** Why `user` cannot read `path` (a directory on the way without o+x, or the file without o+r); undefined when it can. */
const closedOn = async (path: string, user: WorkloadUser): Promise<string | undefined> => {
  const file = await stat(path)
  if (file.uid !== user.uid && (file.mode & 0o004) === 0) return `${path} is not readable by others`
  // Each turn climbs one directory, so the loop ends at the root.
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const stats = await stat(dir)
    if (stats.uid !== user.uid && (stats.mode & 0o001) === 0) return `${dir} has no o+x`
    if (dir === dirname(dir)) return undefined
  }
}

/**
 * Lets the workload user pass through the data directory to its instances (not list it): adds o+x. Fails
 * when that user could still not reach it, or the agent's code and Node, naming the directory in the way:
 * better at start than at every instance's spawn.
 */
export const openToWorkloads = (dataDir: string, reached: ReadonlyArray<string>, user: WorkloadUser | undefined) =>
  Effect.tryPromise({
    try: async () => {
      if (user === undefined) return
      for (const path of [dataDir, join(dataDir, "instances")]) await chmod(path, ((await lstat(path)).mode & 0o7777) | 0o001)
      for (const path of [join(dataDir, "instances"), ...reached]) {
        const closed = await closedOn(path, user)
        if (closed !== undefined) throw new Error(`${user.name} cannot reach ${path}: ${closed} (see UMBRA_DATA_DIR, UMBRA_PROCESS_RUNTIME_USER)`)
      }
    },
    catch: (cause) => new RuntimeFailed({ instanceId: "-", message: `the process runtime's workload user: ${cause instanceof Error ? cause.message : String(cause)}` })
  })
