import { createHash } from "node:crypto"
import { Effect, Stream } from "effect"
import * as tar from "tar-stream"
import { chunksOf, entriesOf, type EntryHeader, feedArchive } from "../../infra/stateTransfer/tarStreams.ts"

/** An entry of a test archive: a file when it has content, else what its header says. */
export interface ArchiveEntry extends EntryHeader {
  readonly content?: string | Uint8Array
}

export interface ListedEntry {
  readonly name: string
  readonly type: string
  readonly linkname?: string
  readonly mode: number
  readonly bytes: number
  /** Of a file's content; empty for other entries. */
  readonly sha256: string
}

export const sha256 = (content: string | Uint8Array) => createHash("sha256").update(content).digest("hex")

/** A tar archive of the entries, in order, exactly as given (absolute names, `..`, devices and all). */
export const archiveOf = (entries: ReadonlyArray<ArchiveEntry>): Effect.Effect<Uint8Array> =>
  Effect.suspend(() => {
    const pack = tar.pack()
    for (const { content, ...header } of entries) {
      if (content === undefined) pack.entry(header).end(undefined)
      else pack.entry({ type: "file", ...header }, typeof content === "string" ? Buffer.from(content) : content)
    }
    pack.finalize()
    return Stream.runCollect(chunksOf(pack, (cause) => cause).pipe(Stream.orDie)).pipe(Effect.map((chunks) => Buffer.concat(chunks)))
  })

/** Every entry of an archive with its content's checksum, in archive order. */
export const listArchive = <E, R>(archive: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Array<ListedEntry>, unknown, R> =>
  Effect.suspend(() => {
    const extract = tar.extract()
    const listed: Array<ListedEntry> = []
    const read = entriesOf(extract, (cause) => cause).pipe(
      Stream.runForEach((entry) =>
        Stream.runCollect(chunksOf(entry, (cause) => cause)).pipe(
          Effect.map((chunks) => {
            const { name, type, linkname, mode } = entry.header
            const content = Buffer.concat(chunks)
            listed.push({
              name,
              type,
              ...(linkname ? { linkname } : {}),
              mode,
              bytes: content.length,
              sha256: type === "file" ? sha256(content) : ""
            })
          })
        )
      )
    )
    return Effect.all([feedArchive(archive, extract), read], { concurrency: 2 }).pipe(Effect.as(listed))
  })

/** The regular files of a listing by name without its leading `./`, with their checksums. */
export const filesOf = (listed: ReadonlyArray<ListedEntry>) =>
  Object.fromEntries(listed.filter((entry) => entry.type === "file").map((entry) => [entry.name.replace(/^\.\//, ""), entry.sha256]))
