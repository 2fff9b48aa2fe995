import { createReadStream, createWriteStream } from "node:fs"
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { finished } from "node:stream/promises"
import { Effect, Stream } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"
import { TransferFailed } from "../../src/stateTransfer.ts"
import { chunksOf, feed, streamBuffer } from "./tarStreams.ts"

const spoolFailed = (what: string) => (cause: unknown) =>
  new TransferFailed({ reason: "runtime", message: `cannot ${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

const spoolPrefix = "umbra-transfer-"

/** A directory of one transfer's own under `parent` (created if missing), removed with all it holds when the scope closes. */
export const spoolDirectory = (parent: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        await mkdir(parent, { recursive: true })
        return mkdtemp(join(parent, spoolPrefix))
      },
      catch: spoolFailed(`make a spool directory in ${parent}`)
    }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/**
 * Removes the spools under `parent` that a killed process left (each up to a transfer's size limit): for a
 * directory no running transfer uses yet, as the control plane's own is when it starts.
 */
export const removeLeftoverSpools = (parent: string) =>
  Effect.gen(function* () {
    const leftovers = (yield* Effect.promise(() => readdir(parent).catch(() => [] as Array<string>))).filter((name) => name.startsWith(spoolPrefix))
    yield* Effect.forEach(leftovers, (name) => Effect.promise(() => rm(join(parent, name), { recursive: true, force: true })), { discard: true })
    if (leftovers.length > 0) yield* Effect.logInfo("leftover state transfer spools removed", { spoolDir: parent, removed: leftovers.length })
  })

/** Writes an archive to a file as it comes, with backpressure; done once it is all on disk. */
export const spoolTo = (file: string) => (archive: Stream.Stream<Uint8Array>) =>
  Effect.suspend(() => {
    const out = createWriteStream(file, streamBuffer)
    // Its errors are read when a write waits or when it finishes; unheard, one would end the process.
    out.on("error", () => undefined)
    return feed(archive, out).pipe(
      Effect.catchTag("SinkClosed", (closed) => Effect.fail(spoolFailed(`write ${file}`)(closed.cause ?? "it was closed"))),
      Effect.andThen(Effect.tryPromise({ try: () => finished(out), catch: spoolFailed(`write ${file}`) })),
      Effect.onError(() => Effect.sync(() => out.destroy()))
    )
  })

/** A spooled archive, read from disk as it is consumed; `instanceId` is the instance it is on its way to. */
export const spooled = (file: string, instanceId: string): Stream.Stream<Uint8Array, RuntimeFailed> =>
  chunksOf(createReadStream(file, streamBuffer), (cause) => new RuntimeFailed({ instanceId, message: `cannot read the spooled archive ${file}: ${String(cause)}` }))
