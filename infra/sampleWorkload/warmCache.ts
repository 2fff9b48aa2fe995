import { createHash } from "node:crypto"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"

/** How the cache is made; a cache written with other settings is rebuilt. */
export interface CacheSettings {
  readonly files: number
  /** SHA-256 rounds per file: the cost of a cold start. */
  readonly rounds: number
}

interface Manifest extends CacheSettings {
  readonly complete: true
}

const manifestName = "manifest.json"
const fileName = (index: number) => `chunk-${String(index).padStart(4, "0")}.bin`

/**
 * One file's content: a hash chain, expensive on purpose and the same on every machine. It depends on the
 * index and the settings only, never on a client: the cache may live in a shared path that outlasts its client.
 */
const compute = (index: number, rounds: number): Buffer => {
  let digest = createHash("sha256").update(`umbra-${index}`).digest()
  const out: Array<Buffer> = []
  for (let round = 0; round < rounds; round++) {
    digest = createHash("sha256").update(digest).digest()
    if (round % 8 === 0) out.push(digest)
  }
  return Buffer.concat(out)
}

const readManifest = async (dir: string): Promise<Manifest | undefined> => {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, manifestName), "utf8"))
    return typeof parsed === "object" && parsed !== null && (parsed as Manifest).complete === true
      ? parsed as Manifest
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Makes sure the cache is in `dir`: reused when its manifest matches (a warm start: after a state transfer,
 * or in a pooled shadow's shared path), computed otherwise. The manifest is written last, so a half-built cache is never trusted.
 */
export const warmCache = async (dir: string, settings: CacheSettings): Promise<{ readonly reused: boolean }> => {
  const manifest = await readManifest(dir)
  if (manifest !== undefined && manifest.files === settings.files && manifest.rounds === settings.rounds) return { reused: true }
  await mkdir(dir, { recursive: true })
  for (let index = 0; index < settings.files; index++) {
    await writeFile(join(dir, fileName(index)), compute(index, settings.rounds))
    // Yield between files so /healthz answers (503) while warming.
    await new Promise((resolve) => setImmediate(resolve))
  }
  const temp = join(dir, `${manifestName}.tmp`)
  await writeFile(temp, JSON.stringify({ ...settings, complete: true } satisfies Manifest))
  await rename(temp, join(dir, manifestName))
  return { reused: false }
}

/** A piece of work served from the cache: the digest of one cached file. */
export const serveFromCache = async (dir: string, settings: CacheSettings, key: number): Promise<string> => {
  const content = await readFile(join(dir, fileName(Math.abs(key) % settings.files)))
  return createHash("sha256").update(content).digest("hex")
}
