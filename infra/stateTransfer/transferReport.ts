import { createHash } from "node:crypto"
import { posix } from "node:path"
import type { TransferredFile } from "../../src/stateTransfer.ts"

/**
 * SHA-256 over one `<state path>/<file>\0<sha256>\n` line per file, in path order (by code unit, so the
 * same on every machine): equal state, equal checksum.
 */
export const stateChecksum = (paths: ReadonlyArray<{ readonly path: string; readonly files: ReadonlyArray<TransferredFile> }>) => {
  const lines = paths
    .flatMap(({ path, files }) => files.map((file) => ({ path: posix.join(path, file.path), sha256: file.sha256 })))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const hash = createHash("sha256")
  for (const line of lines) hash.update(`${line.path}\0${line.sha256}\n`)
  return hash.digest("hex")
}

/** How the files found on arrival differ from those sent, one line each for a person; none when equal. */
export const differences = (sent: ReadonlyArray<TransferredFile>, found: ReadonlyArray<TransferredFile>): ReadonlyArray<string> => {
  const arrived = new Map(found.map((file) => [file.path, file]))
  const expected = new Set(sent.map((file) => file.path))
  return [
    ...sent.flatMap((file) => {
      const there = arrived.get(file.path)
      if (there === undefined) return [`${file.path} is missing`]
      return there.sha256 === file.sha256 ? [] : [`${file.path} has sha256 ${there.sha256}, not ${file.sha256}`]
    }),
    ...found.filter((file) => !expected.has(file.path)).map((file) => `${file.path} was not sent`)
  ]
}
