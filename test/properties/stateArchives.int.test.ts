import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, References, Stream } from "effect"
import fc from "fast-check"
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join, relative } from "node:path"
import { extractInto, packDirectory } from "../../infra/process/stateDirectory.ts"
import * as archiveTransfer from "../../infra/stateTransfer/archiveTransfer.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { StateTransfer } from "../../src/stateTransfer.ts"
import { type ArchiveEntry, archiveOf } from "../support/stateArchives.ts"
import { checkProperty, excerpt } from "./hostileInput.ts"

const runs = 1_000
const maxBytes = 8 * 1024
const statePath = "/var/lib/umbra/state"
/** Stands for the absolute path of a directory beside the target, so that an absolute name aims at something watched. */
const outside = "@OUTSIDE"

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "d", "l", "x", "identity.json") },
  { weight: 3, arbitrary: fc.constantFrom("..", ".") },
  { weight: 1, arbitrary: fc.constantFrom("", "...", "ü", "n".repeat(120), "a\\b") }
)
const relativePath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join("/"))
const entryName = fc.oneof(
  { weight: 6, arbitrary: relativePath },
  { weight: 2, arbitrary: relativePath.map((path) => `./${path}`) },
  { weight: 1, arbitrary: relativePath.map((path) => `${path}/`) },
  { weight: 1, arbitrary: relativePath.map((path) => `${outside}/${path}`) },
  { weight: 1, arbitrary: relativePath.map((path) => `/${path}`) },
  { weight: 1, arbitrary: fc.integer({ min: 101, max: 400 }).map((n) => "h".repeat(n)) }
)
const linkName = fc.oneof(
  { weight: 6, arbitrary: relativePath },
  { weight: 1, arbitrary: fc.constantFrom(`${outside}/sentinel.txt`, outside, "/etc/passwd", "", ".") },
  { weight: 1, arbitrary: relativePath.map((path) => `./${path}`) }
)
interface GeneratedEntry {
  readonly name: string
  readonly type: string
  readonly linkname: string
  readonly content: string
  readonly mode: number
}
const entry: fc.Arbitrary<GeneratedEntry> = fc.record({
  name: entryName,
  type: fc.constantFrom("file", "file", "directory", "symlink", "symlink", "link", "character-device", "block-device", "fifo"),
  linkname: linkName,
  content: fc.oneof(fc.string({ maxLength: 64 }), fc.integer({ min: 1_000, max: 5_000 }).map((n) => "c".repeat(n))),
  mode: fc.constantFrom(0o644, 0o755, 0o600, 0o000, 0o4755, 0o2755, 0o1777)
})

/** Symlink chains whose text stays inside while the links they pass through lead out (`x -> d/l/..`, `d/l -> ..`). */
const chain = fc
  .tuple(fc.constantFrom("d/l", "l"), fc.constantFrom("..", "../..", "."), fc.constantFrom("d/l/..", "l/..", "d/l/../..", "l/../x"), fc.constantFrom("x/", "x/f", "x"))
  .map(([link, target, through, last]): Array<GeneratedEntry> => [
    { name: "d/", type: "directory", linkname: "", content: "", mode: 0o755 },
    { name: link, type: "symlink", linkname: target, content: "", mode: 0o777 },
    { name: "x", type: "symlink", linkname: through, content: "", mode: 0o777 },
    { name: last, type: last.endsWith("/") ? "directory" : "file", linkname: "", content: "escaped", mode: 0o000 }
  ])

const archiveEntries = fc.oneof({ weight: 4, arbitrary: fc.array(entry, { minLength: 1, maxLength: 8 }) }, { weight: 1, arbitrary: chain })

/** A sandbox: the target state directory two levels down, a watched directory beside it, a spool. */
const sandbox = () => {
  const root = mkdtempSync(join(tmpdir(), "umbra-archive-property-"))
  const target = join(root, "a", "b", "target")
  mkdirSync(target, { recursive: true })
  mkdirSync(join(root, "outside"))
  mkdirSync(join(root, "spool"))
  writeFileSync(join(root, "outside", "sentinel.txt"), "keep")
  return { root, target }
}

/** Every path under `dir` (not following links) with its kind and mode: what the sandbox holds. */
const listing = (dir: string, under = ""): Map<string, string> => {
  const found = new Map<string, string>()
  for (const name of readdirSync(join(dir, under))) {
    const path = join(under, name)
    const stats = lstatSync(join(dir, path))
    found.set(path, `${stats.isSymbolicLink() ? "link" : stats.isDirectory() ? "dir" : "file"} ${stats.mode.toString(8)}`)
    if (stats.isDirectory() && !stats.isSymbolicLink()) for (const [inner, kind] of listing(dir, path)) found.set(inner, kind)
  }
  return found
}

/** Where a path leads, following symlinks as the kernel does (a `..` after a link applies to where it led). */
const resolve = (path: string): string => {
  const pending = path.split("/").filter((segment) => segment !== "")
  let at = "/"
  for (let hops = 0; pending.length > 0; ) {
    const segment = pending.shift()!
    if (segment === ".") continue
    if (segment === "..") {
      at = dirname(at)
      continue
    }
    const next = join(at, segment)
    const stats = lstatSync(next, { throwIfNoEntry: false })
    if (stats?.isSymbolicLink() !== true) {
      at = next
      continue
    }
    if (++hops > 40) return next // a loop leads nowhere
    const link = readlinkSync(next)
    pending.unshift(...link.split("/").filter((part) => part !== ""))
    if (isAbsolute(link)) at = "/"
  }
  return at
}

const isInside = (path: string, dir: string) => {
  const rel = relative(dir, path)
  return rel === "" || (rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel))
}

/** The real transfer path: the source exports the generated archive; the target imports and exports like the process runtime. */
const transferLayer = (archive: Uint8Array, target: string, spool: string) =>
  archiveTransfer.layer({ spoolDir: spool }).pipe(
    Layer.provide(
      Layer.succeed(InstanceRuntime)(
        InstanceRuntime.of({
          kind: "process",
          exportState: ({ instanceId }) => (instanceId === "source" ? Stream.make(archive).pipe(Stream.rechunk(512)) : packDirectory(instanceId, target)),
          importState: ({ instanceId }, _path, stream) => extractInto(instanceId, target, stream),
          create: () => Effect.die("unused"),
          start: () => Effect.die("unused"),
          resize: () => Effect.die("unused"),
          inspect: () => Effect.die("unused"),
          stats: () => Stream.die("unused"),
          stop: () => Effect.die("unused"),
          remove: () => Effect.die("unused"),
          list: () => Effect.die("unused")
        })
      )
    )
  )

describe("state archives: hostile archives through the transfer path", () => {
  it(`${runs} generated archives are refused with a typed error or land entirely inside the target`, async () => {
    let refused = 0
    await checkProperty(
      fc.asyncProperty(archiveEntries, async (entries) => {
        const { root, target } = sandbox()
        try {
          const before = listing(root)
          const archive = await Effect.runPromise(
            archiveOf(entries.map(({ name, type, linkname, content, mode }): ArchiveEntry => {
              const at = (text: string) => text.replace(outside, join(root, "outside"))
              const header = { name: at(name), mode }
              return type === "file" ? { ...header, content } : { ...header, type: type as NonNullable<ArchiveEntry["type"]>, linkname: at(linkname) }
            }))
          )
          const outcome = await Effect.runPromise(
            StateTransfer.use((transfer) =>
              transfer.transfer({ tenant: "props", fromInstanceId: "source", toInstanceId: "target", paths: [statePath], identityFiles: ["identity.json"], maxBytes })
            ).pipe(Effect.result, Effect.provide(transferLayer(archive, target, join(root, "spool"))), Effect.provideService(References.MinimumLogLevel, "Error"))
          )
          const shown = excerpt(JSON.stringify(entries), 600)
          if (outcome._tag === "Failure") {
            refused++
            assert.strictEqual(outcome.failure._tag, "TransferFailed", shown)
          }
          // Nothing beside the target changed: no entry added, removed, or re-moded outside it.
          const after = listing(root)
          for (const [path, kind] of after) {
            if (isInside(join(root, path), target) || isInside(join(root, path), join(root, "spool"))) continue
            assert.strictEqual(kind, before.get(path), `${path} outside the target, for ${shown}`)
          }
          for (const [path, kind] of before) if (!isInside(join(root, path), target)) assert.strictEqual(after.get(path), kind, `${path} outside the target, for ${shown}`)
          assert.strictEqual(readFileSync(join(root, "outside", "sentinel.txt"), "utf8"), "keep")
          // Every link the import left leads inside the target.
          for (const [path, kind] of after) {
            if (!kind.startsWith("link") || !isInside(join(root, path), target)) continue
            assert.isTrue(isInside(resolve(join(root, path)), target), `${path} -> ${readlinkSync(join(root, path))} leads outside the target, for ${shown}`)
          }
        } finally {
          rmSync(root, { recursive: true, force: true })
        }
      }),
      runs
    )
    assert.isAbove(refused, 0)
    assert.isBelow(refused, runs, "some generated archives are imported")
  })
})
