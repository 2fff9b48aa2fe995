import { readdir, readFile, readlink, stat } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { type DependencyFile, maxDependencyFiles } from "../../domain/signals.ts"
import { inventory } from "./stateInventory.ts"

/** What is never a dependency of the image: the kernel's views, devices, and what the runtime mounts per instance. */
export const notOfTheImage = ["/proc/", "/sys/", "/dev/", "/run/umbra/"]

const readText = (path: string) => readFile(path, "utf8").catch(() => "")

/** The workload and every process under it (a shell script's children load the libraries). */
const processTree = async (root: number): Promise<ReadonlyArray<number>> => {
  const children = new Map<number, Array<number>>()
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last `)`.
    const stat = await readText(`/proc/${entry}/stat`)
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    if (Number.isInteger(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const tree: Array<number> = []
  const visit = (pid: number) => {
    tree.push(pid)
    for (const child of children.get(pid) ?? []) visit(child)
  }
  visit(root)
  return tree
}

/** Files mapped into a process: executable mappings are its libraries, the rest data it mapped. */
const mappedFiles = async (pid: number, into: Map<string, DependencyFile["kind"]>) => {
  for (const line of (await readText(`/proc/${pid}/maps`)).split("\n")) {
    // `start-end perms offset dev inode path`: the path is the rest of the line, and may hold spaces.
    const fields = line.split(/\s+/)
    const path = fields.slice(5).join(" ")
    if (!path.startsWith("/") || path.endsWith(" (deleted)")) continue
    if (fields[1]?.includes("x") || /\.so(?:\.|$)/.test(path)) into.set(path, "library")
    else if (!into.has(path)) into.set(path, "file")
  }
}

/** Files a process holds open. */
const openFiles = async (pid: number, into: Map<string, DependencyFile["kind"]>) => {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [])
  for (const fd of fds) {
    const path = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")
    if (path.startsWith("/") && !path.endsWith(" (deleted)") && !into.has(path)) into.set(path, "file")
  }
}

const regularFileSize = (path: string) =>
  stat(path).then((info) => (info.isFile() ? info.size : undefined), () => undefined)

const kindOrder: Record<DependencyFile["kind"], number> = { library: 0, file: 1, state: 2 }

/** The regular files the workload's processes map or hold open, outside the paths `skipped` starts. */
const loadedFiles = async (pid: number, skipped: ReadonlyArray<string>) => {
  const found = new Map<string, DependencyFile["kind"]>()
  for (const process of await processTree(pid)) {
    await mappedFiles(process, found)
    await openFiles(process, found)
  }
  const files: Array<DependencyFile> = []
  for (const [path, kind] of found) {
    if (skipped.some((prefix) => path.startsWith(prefix))) continue
    const bytes = await regularFileSize(path)
    if (bytes !== undefined) files.push({ path, kind, bytes })
  }
  return files
}

/**
 * What the workload (process `pid` and its descendants) has loaded and holds open, as regular files outside
 * the kernel's views and the instance's own scratch space, and the files of its state paths: libraries
 * first, at most `maxDependencyFiles`. A process that ends meanwhile is skipped, never an error.
 */
export const scanDependencies = (pid: number, statePaths: ReadonlyArray<string>, scratchPaths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const skipped = [...notOfTheImage, ...[...statePaths, ...scratchPaths].map((path) => `${path.replace(/\/$/, "")}/`)]
    const loaded = yield* Effect.promise(() => loadedFiles(pid, skipped))
    const state = (yield* Effect.forEach(statePaths, inventory)).flatMap(({ path: statePath, files }) =>
      files.map((file): DependencyFile => ({ path: join(statePath, file.path), kind: "state", bytes: file.bytes }))
    )
    return [...loaded, ...state]
      .sort((a, b) => kindOrder[a.kind] - kindOrder[b.kind] || a.path.localeCompare(b.path))
      .slice(0, maxDependencyFiles)
  })
