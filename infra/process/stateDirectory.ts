import { constants, type Stats } from "node:fs"
import { chmod, link, lstat, mkdir, open, readdir, rm, symlink } from "node:fs/promises"
import { dirname, join } from "node:path"
import { Effect, Stream } from "effect"
import * as tar from "tar-stream"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"
import { relativeEntryPath } from "../stateTransfer/entryPath.ts"
import { chunksOf, type Entry, entriesOf, feedArchive, packEntry, streamBuffer } from "../stateTransfer/tarStreams.ts"

const io = <A>(run: () => Promise<A>) => Effect.tryPromise({ try: run, catch: (cause) => cause })

const owned = (stats: Stats) => ({ mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime })

/** Why an entry may not be archived: not owned by one of `owners` (any owner when undefined). */
const foreign = (path: string, stats: Stats, owners: ReadonlyArray<number> | undefined) =>
  owners === undefined || owners.includes(stats.uid) ? undefined : new Error(`${path} belongs to uid ${stats.uid}, not to the workload`)

/**
 * A file's first `size` bytes: a file that grows meanwhile is archived as it was when listed. It is opened
 * without following a link and must still be the file listed, so nothing swapped in meanwhile is read.
 */
const fileContent = (path: string, listed: Stats, owners: ReadonlyArray<number> | undefined) =>
  Stream.unwrap(Effect.gen(function* () {
    const handle = yield* io(() => open(path, constants.O_RDONLY | constants.O_NOFOLLOW))
    const opened = yield* io(() => handle.stat())
    const swapped = opened.ino !== listed.ino || opened.dev !== listed.dev ? new Error(`${path} changed while archived`) : foreign(path, opened, owners)
    if (swapped !== undefined) {
      yield* Effect.promise(() => handle.close())
      return yield* Effect.fail(swapped)
    }
    if (listed.size === 0) {
      yield* Effect.promise(() => handle.close())
      return Stream.empty
    }
    return chunksOf(handle.createReadStream({ end: listed.size - 1 }), (cause) => cause)
  }))

/**
 * The content of a directory as a tar archive named like `docker cp <dir>/. -` names it (`./`, `./a.txt`,
 * `./sub/`, …). Only directories and regular files are archived: symlinks are neither followed nor kept.
 * With `owners`, every entry must belong to one of them: Umbra (root) reading a workload's directory while
 * it runs reads nothing the workload could not (a directory swapped for a link leads to someone else's files).
 */
export const packDirectory = (instanceId: string, dir: string, owners?: ReadonlyArray<number>): Stream.Stream<Uint8Array, RuntimeFailed> =>
  Stream.unwrap(Effect.gen(function* () {
    const pack = tar.pack(streamBuffer)
    const walk = (relative: string): Effect.Effect<void, unknown> =>
      Effect.gen(function* () {
        const names = (yield* io(() => readdir(join(dir, relative)))).sort()
        for (const name of names) {
          const path = `${relative}/${name}`
          const stats = yield* io(() => lstat(join(dir, path)))
          const refused = stats.isDirectory() || stats.isFile() ? foreign(path, stats, owners) : undefined
          if (refused !== undefined) return yield* Effect.fail(refused)
          if (stats.isDirectory()) {
            yield* packEntry(pack, { name: `${path}/`, type: "directory", ...owned(stats) })
            yield* walk(path)
          } else if (stats.isFile()) {
            yield* packEntry(pack, { name: path, type: "file", size: stats.size, ...owned(stats) }, fileContent(join(dir, path), stats, owners))
          }
        }
      })
    const root = yield* io(() => lstat(dir)).pipe(Effect.mapError(failed(instanceId, "export")))
    // A failed walk destroys the pack with its cause, which the archive's reader then fails with.
    yield* packEntry(pack, { name: "./", type: "directory", ...owned(root) }).pipe(
      Effect.andThen(walk(".")),
      Effect.andThen(Effect.sync(() => pack.finalize())),
      Effect.catch((cause) => Effect.sync(() => pack.destroy(cause instanceof Error ? cause : new Error(String(cause))))),
      Effect.forkScoped
    )
    return chunksOf(pack, failed(instanceId, "export"))
  }))

/**
 * Writes one entry under `dir`; what was at its path goes first, so nothing is written through a link. A
 * directory is writable by nobody else until the import ends (`directories` keeps its mode to give back).
 */
const writeEntry = (dir: string, entry: Entry, directories: Array<readonly [string, number]>) =>
  Effect.gen(function* () {
    const { header } = entry
    const relative = relativeEntryPath(header.name)
    if (relative === undefined) return yield* Effect.fail(new Error(`entry ${JSON.stringify(header.name)} would land outside ${dir}`))
    const target = join(dir, relative)
    const mode = header.mode & 0o7777
    if (header.type === "directory") {
      yield* io(() => mkdir(target, { recursive: true }))
      yield* io(() => chmod(target, mode & ~0o022))
      directories.push([target, mode])
      return yield* Stream.runDrain(chunksOf(entry, (cause) => cause))
    }
    yield* io(() => mkdir(dirname(target), { recursive: true }))
    yield* io(() => rm(target, { force: true }))
    switch (header.type) {
      case "file":
        return yield* Effect.acquireUseRelease(
          io(() => open(target, "wx", mode)),
          (file) =>
            Stream.runForEach(chunksOf(entry, (cause) => cause), (chunk) => io(() => file.write(chunk))).pipe(
              Effect.andThen(io(() => file.chmod(mode))),
              Effect.andThen(io(() => file.utimes(header.mtime, header.mtime)))
            ),
          (file) => Effect.promise(() => file.close())
        )
      case "symlink":
        yield* io(() => symlink(header.linkname, target))
        break
      case "link": {
        const source = relativeEntryPath(header.linkname)
        if (source === undefined) return yield* Effect.fail(new Error(`hard link ${JSON.stringify(header.name)} to a path outside ${dir}`))
        yield* io(() => link(join(dir, source), target))
        break
      }
      default:
        return yield* Effect.fail(new Error(`entry ${JSON.stringify(header.name)} is a ${header.type}, which a state path does not hold`))
    }
    yield* Stream.runDrain(chunksOf(entry, (cause) => cause))
  })

/**
 * Extracts an archive (entries relative to the directory) into the directory, as it is read. Directories get
 * their group and other write bits back only at the end, deepest first: while Umbra writes, no other user
 * (a workload's) can swap an entry of the tree for a link that Umbra would then write through.
 */
export const extractInto = (instanceId: string, dir: string, archive: Stream.Stream<Uint8Array, RuntimeFailed>) =>
  Effect.suspend(() => {
    const extract = tar.extract(streamBuffer)
    const directories: Array<readonly [string, number]> = []
    const restoreModes = io(async () => {
      const deepestFirst = [...directories].sort(([a], [b]) => b.split("/").length - a.split("/").length)
      for (const [path, mode] of deepestFirst) await chmod(path, mode)
    })
    const written = entriesOf(extract, (cause) => cause).pipe(
      Stream.runForEach((entry) => writeEntry(dir, entry, directories)),
      Effect.andThen(restoreModes),
      Effect.mapError(failed(instanceId, "import"))
    )
    return Effect.all([feedArchive(archive, extract), written], { concurrency: 2, discard: true }).pipe(
      Effect.onError(() => Effect.sync(() => extract.destroy()))
    )
  })

const failed = (instanceId: string, what: string) => (cause: unknown) =>
  new RuntimeFailed({ instanceId, message: `state ${what} of ${instanceId} failed: ${cause instanceof Error ? cause.message : String(cause)}` })
