import { createHash } from "node:crypto"
import { Effect, Stream } from "effect"
import * as tar from "tar-stream"
import { type TransferredFile, TransferFailed } from "../../src/stateTransfer.ts"
import { relativeEntryPath } from "./entryPath.ts"
import { makeLinkChain, maxLinkHops } from "./linkChain.ts"
import { chunksOf, entriesOf, type Entry, type EntryHeader, feedArchive, packEntry, streamBuffer } from "./tarStreams.ts"

export interface ArchiveCheck {
  /** Paths relative to the state path left out of the clean archive (with whatever lies under them). */
  readonly identityFiles: ReadonlyArray<string>
  /** The most bytes of file content, counted together with `counted` (what archives before this one held). */
  readonly maxBytes: number
  readonly counted?: number
  /** How many entries, and of them hard links, one archive may hold; `defaultArchiveLimits` when absent. */
  readonly limits?: ArchiveLimits
}

export interface ArchiveLimits {
  readonly maxEntries: number
  readonly maxHardLinks: number
}

/** Enough for a cache of small files; a state of empty files or links is bounded too, not only by its bytes. */
export const defaultArchiveLimits: ArchiveLimits = { maxEntries: 100_000, maxHardLinks: 10_000 }

export interface CheckedArchive {
  /** Regular files and hard links (a link reports its target's content), by path relative to the state path. */
  readonly files: ReadonlyArray<TransferredFile>
  /** Bytes of file content in the archive (a hard-linked file's content counts once). */
  readonly bytes: number
  /** Identity files found and left out, relative to the state path. */
  readonly reset: ReadonlyArray<string>
}

const unsafe = (name: string, why: string) => new TransferFailed({ reason: "unsafe-entry", message: `unsafe archive entry ${JSON.stringify(name)}: ${why}` })

const unreadable = (cause: unknown) =>
  new TransferFailed({ reason: "unsafe-entry", message: `unreadable archive: ${cause instanceof Error ? cause.message : String(cause)}` })

/** The directories a relative path lies in, outermost first: `a/b/c` → `a`, `a/b`. */
const ancestorsOf = (path: string) => {
  const segments = path.split("/")
  return segments.slice(1).map((_, index) => segments.slice(0, index + 1).join("/"))
}

const isUnder = (path: string, roots: ReadonlySet<string>) => roots.has(path) || ancestorsOf(path).some((ancestor) => roots.has(ancestor))

/**
 * Reads an archive of one state path entry by entry and writes a clean one, refusing the whole archive at
 * the first entry that could land outside the state path. Rules:
 * - names lose their leading `./` (the root entry is dropped); an absolute name or a `..` segment is refused;
 * - an entry under a symlink of the archive is refused: the checks below read paths as plain directories;
 * - a path is given once (a directory may be repeated), and nothing but a directory stands where the
 *   archive already has or walked through a directory;
 * - a symlink's target must be relative and stay inside the state path, resolved from the link's own
 *   directory through the links given before it (`linkChain.ts`), following at most `maxLinkHops` links;
 * - a hard link must name a regular file given earlier in the archive (a link to a symlink would move it);
 * - devices, FIFOs and every other kind of entry are refused;
 * - more entries, or hard links, than `limits` allow fail the archive as `too-large`.
 * Passed entries keep their permission bits (setuid, setgid and sticky are dropped, so nothing gains
 * privileges on the way), their uid/gid (the target runs the same template, as the same user, and must still
 * own its state) and mtime; user and group names, extended attributes and other pax records are not copied.
 * File content counts against `maxBytes` from each file's header, before it is read, so an oversized state
 * fails without reading the rest. Each regular file's SHA-256 is computed on the way.
 */
export const checkArchive = <E, R, E2, R2>(
  source: Stream.Stream<Uint8Array, E, R>,
  check: ArchiveCheck,
  write: (clean: Stream.Stream<Uint8Array>) => Effect.Effect<void, E2, R2>
): Effect.Effect<CheckedArchive, E | E2 | TransferFailed, R | R2> =>
  Effect.suspend((): Effect.Effect<CheckedArchive, E | E2 | TransferFailed, R | R2> => {
    const extract = tar.extract(streamBuffer)
    const pack = tar.pack(streamBuffer)
    const identity = new Set(check.identityFiles.map((path) => relativeEntryPath(path) ?? path))
    const files = new Map<string, TransferredFile>()
    const chain = makeLinkChain()
    const given = new Map<string, string>()
    const limits = check.limits ?? defaultArchiveLimits
    const reset: Array<string> = []
    let bytes = 0
    let entries = 0
    let hardLinks = 0

    /** Why an entry (at `path`, relative) could land outside the state path; undefined when it cannot. */
    const refusal = (header: tar.Header, path: string): string | undefined => {
      if (path === "") return header.type === "directory" ? undefined : "the state path itself, not a directory"
      const through = ancestorsOf(path).find((ancestor) => chain.isLink(ancestor))
      if (through !== undefined) return `lies under the symlink ${JSON.stringify(through)}`
      const earlier = given.get(path)
      if (earlier !== undefined && !(earlier === "directory" && header.type === "directory")) return `given twice, first as a ${earlier}`
      if (header.type !== "directory" && chain.isDirectory(path)) return `a ${header.type ?? "unknown"} where the archive has a directory`
      // tar-stream gives null for a missing link name, whatever its types say.
      const linkname = header.linkname ?? ""
      switch (header.type) {
        case "directory":
        case "file":
          return undefined
        case "symlink": {
          if (linkname === "" || linkname.startsWith("/")) return `symlink to the absolute path ${JSON.stringify(linkname)}`
          const resolved = chain.resolve(path, linkname)
          if (resolved._tag === "Outside") return `symlink to ${JSON.stringify(linkname)}, outside the state path`
          if (resolved._tag === "TooManyLinks") return `symlink to ${JSON.stringify(linkname)}, through more than ${maxLinkHops} links`
          // Resolving through its own path would make the link a directory of itself.
          return chain.isDirectory(path) ? `symlink to ${JSON.stringify(linkname)}, through itself` : undefined
        }
        case "link": {
          const target = relativeEntryPath(linkname)
          return target !== undefined && (files.has(target) || reset.includes(target))
            ? undefined
            : `hard link to ${JSON.stringify(linkname)}, not a file earlier in the archive`
        }
        default:
          return `a ${header.type ?? "unknown"} entry`
      }
    }

    /** Counts an entry against the limits, before anything of it is written. */
    const counts = (header: tar.Header, path: string) =>
      Effect.gen(function* () {
        entries += 1
        if (header.type === "link") hardLinks += 1
        const over = entries > limits.maxEntries ? `${limits.maxEntries} entries` : hardLinks > limits.maxHardLinks ? `${limits.maxHardLinks} hard links` : undefined
        if (over !== undefined) return yield* new TransferFailed({ reason: "too-large", message: `state exceeds ${over} with ${JSON.stringify(path)}` })
      })

    const drain = (entry: Entry) => Stream.runDrain(chunksOf(entry, unreadable))

    const copyFile = (entry: Entry, path: string): Effect.Effect<void, TransferFailed> =>
      Effect.gen(function* () {
        const { size } = entry.header
        const total = (check.counted ?? 0) + bytes + size
        if (total > check.maxBytes) {
          return yield* new TransferFailed({
            reason: "too-large",
            message: `state exceeds ${check.maxBytes} bytes: ${total} with ${JSON.stringify(path)}`
          })
        }
        const hash = createHash("sha256")
        const content = chunksOf(entry, unreadable).pipe(Stream.tap((chunk) => Effect.sync(() => hash.update(chunk))))
        yield* packEntry(pack, { name: path, type: "file", size, ...kept(entry.header) }, content)
        bytes += size
        files.set(path, { path, bytes: size, sha256: hash.digest("hex") })
      })

    const take = (entry: Entry): Effect.Effect<void, TransferFailed> =>
      Effect.gen(function* () {
        const { header } = entry
        const path = relativeEntryPath(header.name)
        const why = path === undefined ? "absolute, or climbs out with .." : refusal(header, path)
        if (why !== undefined || path === undefined) return yield* unsafe(header.name, why ?? "")
        // Every entry counts, the root's repeats too: each costs a turn even when nothing of it is kept.
        yield* counts(header, path)
        if (path === "") return yield* drain(entry)
        given.set(path, header.type ?? "unknown")
        chain.add(path, header.type === "symlink" ? header.linkname ?? "" : undefined)
        if (header.type === "directory") chain.addDirectory(path)
        const linkTarget = header.type === "link" ? relativeEntryPath(header.linkname) : undefined
        // A hard link to a left-out identity file would carry its content: it is left out too.
        if (isUnder(path, identity) || (linkTarget !== undefined && reset.includes(linkTarget))) {
          if (header.type !== "directory") reset.push(path)
          return yield* drain(entry)
        }
        if (header.type === "file") return yield* copyFile(entry, path)
        yield* drain(entry)
        const linked = linkTarget === undefined ? undefined : files.get(linkTarget)
        if (linked !== undefined) files.set(path, { ...linked, path })
        const linkname = linkTarget ?? header.linkname
        yield* packEntry(pack, { name: path, type: header.type, ...(header.type === "directory" ? {} : { linkname }), ...kept(header) })
      })

    const repack = entriesOf(extract, unreadable).pipe(
      Stream.runForEach(take),
      Effect.andThen(Effect.sync(() => pack.finalize()))
    )

    // The pack fails only once destroyed, after one of the three failed: its own error would be a bug.
    const clean = chunksOf(pack, (cause) => cause).pipe(Stream.orDie)
    return Effect.all([feedArchive(source, extract), repack, write(clean)], { concurrency: "unbounded" }).pipe(
      Effect.map((): CheckedArchive => ({ files: [...files.values()], bytes, reset })),
      Effect.onError(() =>
        Effect.sync(() => {
          extract.destroy()
          pack.destroy()
        })
      )
    )
  })

/** What a passed entry keeps of its header (see `checkArchive`); the pack gives a zero mode its default. */
const kept = (header: tar.Header): Omit<EntryHeader, "name"> => ({
  mode: header.mode & 0o777,
  uid: header.uid,
  gid: header.gid,
  mtime: header.mtime
})
