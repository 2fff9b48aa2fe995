import { constants } from "node:fs"
import { open } from "node:fs/promises"
import { Clock, Effect } from "effect"
import { notOfTheImage } from "./dependencyScan.ts"

/** A preload reads at most this much: the page cache is the machine's, not the instance's. */
const maxPreloadBytes = 1024 ** 3
const chunk = 1024 * 1024

export interface Preloaded {
  readonly files: number
  readonly bytes: number
  /** Named but not read: gone, not a regular file, or past the byte bound. */
  readonly skipped: number
  readonly ms: number
}

/** Reads one regular file through, into the page cache; its byte count, or undefined when it is not one. */
const readThrough = async (path: string, buffer: Buffer, budget: number) => {
  // Non-blocking: a FIFO named in the list must not hold the workload's start.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined)
  if (handle === undefined) return undefined
  try {
    if (!(await handle.stat()).isFile()) return undefined
    let bytes = 0
    while (bytes < budget) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(chunk, budget - bytes), null)
      if (bytesRead === 0) break
      bytes += bytesRead
    }
    return bytes
  } finally {
    await handle.close()
  }
}

/**
 * Reads the files the client's workload was seen to load into the page cache before that workload starts
 * (production's libraries and data files, inferred on its shadow), so that its start reads memory, not disk.
 */
export const preloadFiles = (paths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const { files, bytes, skipped } = yield* Effect.promise(async () => {
      const buffer = Buffer.allocUnsafe(chunk)
      let files = 0
      let bytes = 0
      let skipped = 0
      for (const path of paths) {
        const read = notOfTheImage.some((prefix) => path.startsWith(prefix)) || bytes >= maxPreloadBytes
          ? undefined
          : await readThrough(path, buffer, maxPreloadBytes - bytes)
        if (read === undefined) skipped++
        else (files++, (bytes += read))
      }
      return { files, bytes, skipped }
    })
    return { files, bytes, skipped, ms: (yield* Clock.currentTimeMillis) - started } satisfies Preloaded
  })
