import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { type ArchiveCheck, checkArchive } from "../../infra/stateTransfer/safeArchive.ts"
import { type ArchiveEntry, archiveOf, listArchive, sha256 } from "../support/stateArchives.ts"

const roomy: ArchiveCheck = { identityFiles: [], maxBytes: 1_000_000 }

/** Checks an archive given whole, and returns the report with the clean archive's bytes. */
const check = (archive: Uint8Array, options: ArchiveCheck = roomy) =>
  Effect.gen(function* () {
    const chunks: Array<Uint8Array> = []
    const checked = yield* checkArchive(Stream.make(archive), options, (clean) => Stream.runForEach(clean, (chunk) => Effect.sync(() => void chunks.push(chunk))))
    return { checked, clean: Buffer.concat(chunks) }
  })

const refused = (entries: ReadonlyArray<ArchiveEntry>, named: string) =>
  Effect.gen(function* () {
    const error = yield* check(yield* archiveOf(entries)).pipe(Effect.flip)
    assert.strictEqual(error.reason, "unsafe-entry")
    assert.include(error.message, JSON.stringify(named))
  })

const good: ReadonlyArray<ArchiveEntry> = [
  { name: "./", type: "directory" },
  { name: "./a.txt", content: "alpha" },
  { name: "./sub/", type: "directory" },
  { name: "./sub/b.txt", content: "bravo" }
]

describe("checkArchive", () => {
  it.effect("refuses names that leave the state path", () =>
    Effect.gen(function* () {
      yield* refused([...good, { name: "../x", content: "x" }], "../x")
      yield* refused([{ name: "/etc/x", content: "x" }], "/etc/x")
      yield* refused([...good, { name: "a/../../x", content: "x" }], "a/../../x")
    }))

  it.effect("refuses symlinks that point outside, and entries under a symlink", () =>
    Effect.gen(function* () {
      yield* refused([...good, { name: "./link", type: "symlink", linkname: "/etc/passwd" }], "./link")
      yield* refused([...good, { name: "./sub/link", type: "symlink", linkname: "../../x" }], "./sub/link")
      yield* refused([...good, { name: "./d", type: "symlink", linkname: "sub" }, { name: "./d/x", content: "x" }], "./d/x")
      // Read as text, `l/../x` is `x`; on disk, with `l -> .`, it is the state path's sibling `../x`.
      yield* refused([...good, { name: "./l", type: "symlink", linkname: "." }, { name: "./x", type: "symlink", linkname: "l/../x" }], "./x")
    }))

  it.effect("resolves a symlink through the links given before it, and through directories walked later", () =>
    Effect.gen(function* () {
      // `l1 -> l2/..` with `l2 -> .` is the state path's parent.
      yield* refused([...good, { name: "./l2", type: "symlink", linkname: "." }, { name: "./l1", type: "symlink", linkname: "l2/.." }], "./l1")
      yield* refused([...good, { name: "./l2", type: "symlink", linkname: "sub" }, { name: "./l1", type: "symlink", linkname: "l2/../.." }], "./l1")
      // The other order: `l2` was walked through as a directory, so a link cannot stand there afterwards.
      yield* refused([...good, { name: "./l1", type: "symlink", linkname: "l2/.." }, { name: "./l2", type: "symlink", linkname: "." }], "./l2")
      // A path given twice could turn a directory walked through into a link.
      yield* refused([...good, { name: "./sub", type: "symlink", linkname: "." }], "./sub")
      yield* refused([...good, { name: "./a.txt", content: "again" }], "./a.txt")
      const loop = Array.from({ length: 45 }, (_, index) => ({ name: `./k${index}`, type: "symlink" as const, linkname: index === 0 ? "a.txt" : `k${index - 1}` }))
      yield* refused([...good, ...loop], "./k41")
      // Through a real directory, `..` after a name is fine.
      const { checked } = yield* check(yield* archiveOf([...good, { name: "./sub/l", type: "symlink", linkname: "../sub/../a.txt" }]))
      assert.deepStrictEqual(checked.files.map((file) => file.path), ["a.txt", "sub/b.txt"])
    }))

  it.effect("fails an archive with more entries or hard links than its limits, whatever their bytes", () =>
    Effect.gen(function* () {
      const empties = Array.from({ length: 2_000 }, (_, index) => ({ name: `./e${index}`, content: "" }))
      const many = yield* check(yield* archiveOf(empties), { identityFiles: [], maxBytes: 1, limits: { maxEntries: 1_000, maxHardLinks: 10 } }).pipe(Effect.flip)
      assert.strictEqual(many.reason, "too-large")
      assert.include(many.message, "1000 entries")
      const limits = { maxEntries: 10, maxHardLinks: 2 }
      const few = yield* check(yield* archiveOf(good), { ...roomy, limits })
      assert.strictEqual(few.checked.files.length, 2)
      const entries = yield* check(yield* archiveOf([...good, ...empties.slice(0, 8)]), { ...roomy, limits }).pipe(Effect.flip)
      assert.strictEqual(entries.reason, "too-large")
      assert.include(entries.message, "10 entries")
      const roots = Array.from({ length: 11 }, () => ({ name: "./", type: "directory" as const }))
      assert.strictEqual((yield* check(yield* archiveOf(roots), { ...roomy, limits }).pipe(Effect.flip)).reason, "too-large")
      const links = Array.from({ length: 3 }, (_, index) => ({ name: `./h${index}`, type: "link" as const, linkname: "./a.txt" }))
      const hard = yield* check(yield* archiveOf([...good, ...links]), { ...roomy, limits }).pipe(Effect.flip)
      assert.strictEqual(hard.reason, "too-large")
      assert.include(hard.message, "2 hard links")
    }))

  it.effect("refuses hard links to anything but an earlier file of the archive", () =>
    Effect.gen(function* () {
      yield* refused([...good, { name: "./h", type: "link", linkname: "./unknown" }], "./h")
      yield* refused([...good, { name: "./h", type: "link", linkname: "../outside" }], "./h")
      yield* refused([{ name: "./h", type: "link", linkname: "./a.txt" }, ...good], "./h")
    }))

  it.effect("refuses devices and FIFOs", () =>
    Effect.gen(function* () {
      yield* refused([...good, { name: "./null", type: "character-device", devmajor: 1, devminor: 3 }], "./null")
      yield* refused([...good, { name: "./pipe", type: "fifo" }], "./pipe")
    }))

  it.effect("passes a safe archive with each file's checksum, names made relative, special mode bits dropped", () =>
    Effect.gen(function* () {
      const archive = yield* archiveOf([
        ...good,
        { name: "./run.sh", content: "#!/bin/sh", mode: 0o4755 },
        { name: "./sub/l", type: "symlink", linkname: "../a.txt" },
        { name: "./h", type: "link", linkname: "./a.txt" }
      ])
      const { checked, clean } = yield* check(archive)
      assert.deepStrictEqual(checked.files, [
        { path: "a.txt", bytes: 5, sha256: sha256("alpha") },
        { path: "sub/b.txt", bytes: 5, sha256: sha256("bravo") },
        { path: "run.sh", bytes: 9, sha256: sha256("#!/bin/sh") },
        { path: "h", bytes: 5, sha256: sha256("alpha") }
      ])
      assert.strictEqual(checked.bytes, 19)
      const listed = yield* listArchive(Stream.make(clean))
      assert.deepStrictEqual(listed.map((entry) => `${entry.type}:${entry.name}${entry.linkname === undefined ? "" : `->${entry.linkname}`}`), [
        "file:a.txt",
        "directory:sub",
        "file:sub/b.txt",
        "file:run.sh",
        "symlink:sub/l->../a.txt",
        "link:h->a.txt"
      ])
      assert.strictEqual(listed.find((entry) => entry.name === "run.sh")?.mode, 0o755)
    }))

  it.effect("fails a state over the limit at the file's header, without reading the rest", () =>
    Effect.gen(function* () {
      const big = new Uint8Array(8 * 1024 * 1024)
      const archive = yield* archiveOf([...good, { name: "./big.bin", content: big }, { name: "./after.txt", content: "z" }])
      let read = 0
      const chunks = Array.from({ length: Math.ceil(archive.length / 65536) }, (_, i) => archive.subarray(i * 65536, (i + 1) * 65536))
      const source = Stream.fromIterable(chunks).pipe(Stream.tap((chunk) => Effect.sync(() => void (read += chunk.length))))
      const error = yield* checkArchive(source, { identityFiles: [], maxBytes: 1_000_000 }, Stream.runDrain).pipe(Effect.flip)
      assert.strictEqual(error.reason, "too-large")
      assert.include(error.message, "big.bin")
      // What was read is the files before it and the stream buffers' read-ahead (1 MiB), not the 8 MiB file.
      assert.isBelow(read, archive.length / 4)
      const counted = yield* check(yield* archiveOf(good), { identityFiles: [], maxBytes: 12, counted: 5 }).pipe(Effect.flip)
      assert.strictEqual(counted.reason, "too-large")
    }))

  it.effect("leaves identity files out and reports them", () =>
    Effect.gen(function* () {
      const archive = yield* archiveOf([
        ...good,
        { name: "./instance-id", content: "shd-1" },
        { name: "./sub/token", content: "secret" },
        { name: "./id-copy", type: "link", linkname: "./instance-id" }
      ])
      const { checked, clean } = yield* check(archive, { identityFiles: ["instance-id", "./sub/token"], maxBytes: 1_000 })
      assert.deepStrictEqual(checked.reset, ["instance-id", "sub/token", "id-copy"])
      assert.deepStrictEqual(checked.files.map((file) => file.path), ["a.txt", "sub/b.txt"])
      const names = (yield* listArchive(Stream.make(clean))).map((entry) => entry.name)
      assert.deepStrictEqual(names, ["a.txt", "sub", "sub/b.txt"])
    }))

  it.effect("refuses an archive that is not a tar", () =>
    Effect.gen(function* () {
      const error = yield* check(new Uint8Array(1024).fill(7)).pipe(Effect.flip)
      assert.strictEqual(error.reason, "unsafe-entry")
      assert.include(error.message, "unreadable archive")
    }))
})
