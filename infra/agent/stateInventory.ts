import { open, readdir, rm, stat } from "node:fs/promises"
import { join, relative } from "node:path"
import { Effect } from "effect"

export interface StateFile {
  /** Relative to its state path. */
  readonly path: string
  readonly bytes: number
}

export interface StatePathInventory {
  readonly path: string
  readonly exists: boolean
  readonly files: ReadonlyArray<StateFile>
  readonly bytes: number
}

const walk = async (root: string, dir: string, into: Array<StateFile>): Promise<void> => {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    // Symlinks are not followed: state must not reach outside its declared path.
    if (entry.isDirectory()) await walk(root, full, into)
    else if (entry.isFile()) into.push({ path: relative(root, full), bytes: (await stat(full)).size })
  }
}

/** The regular files under one state path (a missing path is empty: the workload has not written yet). */
export const inventory = (path: string): Effect.Effect<StatePathInventory> =>
  Effect.promise(async () => {
    const files: Array<StateFile> = []
    try {
      await walk(path, path, files)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return { path, exists: false, files: [], bytes: 0 }
      throw cause
    }
    files.sort((a, b) => a.path.localeCompare(b.path))
    return { path, exists: true, files, bytes: files.reduce((sum, file) => sum + file.bytes, 0) }
  })

/** Forces written data of every file to disk, so an export taken next sees what the workload wrote. */
export const flush = (state: StatePathInventory): Effect.Effect<void> =>
  Effect.promise(async () => {
    for (const file of state.files) {
      const handle = await open(join(state.path, file.path), "r").catch(() => undefined)
      if (handle === undefined) continue
      await handle.sync().catch(() => undefined)
      await handle.close()
    }
  })

const sameFiles = (a: ReadonlyArray<StatePathInventory>, b: ReadonlyArray<StatePathInventory>) =>
  JSON.stringify(a) === JSON.stringify(b)

/**
 * Inventories the paths until two readings a short pause apart agree (the workload has stopped writing),
 * at most `attempts` times, then flushes them. `settled` says whether they agreed.
 */
export const settle = (paths: ReadonlyArray<string>, attempts = 10) =>
  Effect.gen(function* () {
    let previous = yield* Effect.forEach(paths, inventory)
    let settled = false
    for (let attempt = 1; attempt < attempts && !settled; attempt++) {
      yield* Effect.sleep("200 millis")
      const next = yield* Effect.forEach(paths, inventory)
      settled = sameFiles(previous, next)
      previous = next
    }
    yield* Effect.forEach(previous, flush, { discard: true })
    return { settled, paths: previous }
  })

/** Empties a state path (the path itself stays, it may be a mount point): what a recycled shadow keeps of its last client is nothing. */
export const scrub = (path: string): Effect.Effect<{ readonly removedFiles: number; readonly bytes: number }> =>
  inventory(path).pipe(
    Effect.flatMap((found) =>
      Effect.promise(async () => {
        if (found.exists) {
          for (const entry of await readdir(path)) await rm(join(path, entry), { recursive: true, force: true })
        }
        return { removedFiles: found.files.length, bytes: found.bytes }
      })
    )
  )
