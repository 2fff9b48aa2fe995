import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { chmod, copyFile, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises"
import { dirname, join, relative, resolve } from "node:path"
import { promisify } from "node:util"
import { defaultTemplate } from "../../domain/profile/template.ts"

/** A file of an image's root filesystem: copied from the host, or a link (busybox applets). */
export type RootfsEntry =
  | { readonly kind: "file"; readonly from: string; readonly to: string }
  | { readonly kind: "link"; readonly target: string; readonly to: string }

export const repoRoot = resolve(import.meta.dirname, "..", "..")

/** Where the agent image keeps node and Umbra. */
export const imagePaths = { node: "/usr/local/bin/node", umbra: "/umbra" } as const

/** The user the images run as: no name in the image, the number alone (the one distroless images use). */
export const imageUser = "65532:65532"

/** The directories the image's user owns: the sample workload's state path and its shared path (its cache). */
export const writablePaths: ReadonlyArray<string> = [...defaultTemplate.statePaths, ...(defaultTemplate.sharedStatePaths ?? [])]

/** An empty directory of the build context, copied to each writable path with the user as owner. */
export const writableDir = "writable"

/** The npm packages the agent and the sample workload import; their dependencies are added from package.json. */
const runtimePackages = ["effect", "@nats-io/transport-node", "pino", "pino-pretty"]

/** The Umbra folders the agent imports from (the agent reaches into domain/ and src/ for schemas and ports). */
const umbraFolders = ["domain", "src", "infra"]

const busyboxApplets = ["sh", "ls", "cat", "du", "ps", "kill", "sleep", "wget", "mkdir", "rm", "echo", "env", "find", "df"]

// Types, sources maps and docs are not run; TypeScript under node_modules is never executed by Node.
const skipped = /(\.map|\.d\.[cm]?ts|\.md|\.ts|\.tsbuildinfo)$/

const walk = async (dir: string, keep: (path: string) => boolean): Promise<Array<string>> => {
  const found: Array<string> = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...await walk(full, keep))
    else if (entry.isFile() && keep(full)) found.push(full)
  }
  return found
}

/** The shared libraries `ldd` lists for a binary (the dynamic loader included). */
export const sharedLibraries = async (binary: string): Promise<Array<string>> => {
  const { stdout } = await promisify(execFile)("ldd", [binary])
  const libraries: Array<string> = []
  for (const line of stdout.split("\n")) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (match?.[1] !== undefined) libraries.push(match[1])
  }
  return libraries
}

/** The packages in `roots` and everything they depend on, as directories under node_modules. */
export const packageClosure = async (nodeModules: string, roots: ReadonlyArray<string>): Promise<Array<string>> => {
  const seen = new Set<string>()
  const pending = [...roots]
  while (pending.length > 0) {
    const name = pending.pop()!
    if (seen.has(name)) continue
    seen.add(name)
    const manifest = JSON.parse(await readFile(join(nodeModules, name, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>
      optionalDependencies?: Record<string, string>
    }
    pending.push(...Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }))
  }
  return [...seen].sort()
}

/** Everything the agent image holds: node and its libraries, busybox as the shell, Umbra and its packages. */
export const agentRootfs = async (nodeBinary = process.execPath): Promise<Array<RootfsEntry>> => {
  const entries: Array<RootfsEntry> = [{ kind: "file", from: nodeBinary, to: imagePaths.node }]
  for (const library of await sharedLibraries(nodeBinary)) entries.push({ kind: "file", from: library, to: library })
  entries.push({ kind: "file", from: "/usr/bin/busybox", to: "/bin/busybox" })
  for (const applet of busyboxApplets) entries.push({ kind: "link", target: "busybox", to: `/bin/${applet}` })
  const umbraFile = (from: string): RootfsEntry => ({ kind: "file", from, to: join(imagePaths.umbra, relative(repoRoot, from)) })
  entries.push(umbraFile(join(repoRoot, "package.json")))
  for (const folder of umbraFolders) {
    for (const file of await walk(join(repoRoot, folder), (path) => path.endsWith(".ts") || path.endsWith(".json"))) {
      entries.push(umbraFile(file))
    }
  }
  const nodeModules = join(repoRoot, "node_modules")
  for (const name of await packageClosure(nodeModules, runtimePackages)) {
    for (const file of await walk(join(nodeModules, name), (path) => !skipped.test(path))) entries.push(umbraFile(file))
  }
  return entries
}

/** A hash of what the build would copy (paths, sizes, modification times) and of the Dockerfile. */
export const contextHash = async (entries: ReadonlyArray<RootfsEntry>, dockerfile: string): Promise<string> => {
  const hash = createHash("sha256").update(dockerfile)
  for (const entry of entries) {
    if (entry.kind === "link") hash.update(`L ${entry.to} ${entry.target}\n`)
    else {
      const info = await stat(entry.from)
      hash.update(`F ${entry.to} ${info.size} ${info.mtimeMs} ${info.mode}\n`)
    }
  }
  return hash.digest("hex").slice(0, 16)
}

/** Writes a build context: `Dockerfile` and `rootfs/` holding the entries. */
export const writeContext = async (dir: string, entries: ReadonlyArray<RootfsEntry>, dockerfile: string): Promise<void> => {
  await writeFile(join(dir, "Dockerfile"), dockerfile)
  await mkdir(join(dir, writableDir), { recursive: true })
  const rootfs = join(dir, "rootfs")
  await mkdir(join(rootfs, "tmp"), { recursive: true })
  await chmod(join(rootfs, "tmp"), 0o1777)
  for (const entry of entries) {
    const to = join(rootfs, entry.to)
    await mkdir(dirname(to), { recursive: true })
    if (entry.kind === "link") await symlink(entry.target, to)
    else await copyFile(entry.from, to)
  }
}
