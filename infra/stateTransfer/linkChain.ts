import { posix } from "node:path"

/** At most this many links followed to resolve one target, as Linux's MAXSYMLINKS: more is a loop or an attack. */
export const maxLinkHops = 40

export type Resolution =
  | { readonly _tag: "Inside"; readonly path: string }
  | { readonly _tag: "Outside" }
  | { readonly _tag: "TooManyLinks" }

const segmentsOf = (path: string) => path.split("/").filter((segment) => segment !== "" && segment !== ".")

/**
 * The symlinks of one archive, in the order it gives them, and the paths it uses as directories. A link's
 * target is resolved segment by segment from the link's own directory, each name that is a link seen so far
 * replaced by that link's target, so `l2 -> .` then `l1 -> l2/..` leads to the state path's parent. A name
 * walked through as a directory before any entry stands there is kept as one: a later link at that path
 * would change where the earlier link leads, so `isDirectory` refuses it.
 */
export const makeLinkChain = () => {
  const links = new Map<string, string>()
  const directories = new Set<string>()

  const resolve = (from: string, target: string): Resolution => {
    if (target.startsWith("/")) return { _tag: "Outside" }
    const at = segmentsOf(posix.dirname(from))
    const pending = segmentsOf(target)
    let hops = 0
    // Each turn consumes a segment or follows a link (at most `maxLinkHops`), so the loop ends.
    for (let segment = pending.shift(); segment !== undefined; segment = pending.shift()) {
      if (segment === "..") {
        if (at.pop() === undefined) return { _tag: "Outside" }
        continue
      }
      at.push(segment)
      const here = at.join("/")
      const link = links.get(here)
      if (link === undefined) {
        if (pending.length > 0) directories.add(here)
        continue
      }
      hops += 1
      if (hops > maxLinkHops) return { _tag: "TooManyLinks" }
      at.pop()
      pending.unshift(...segmentsOf(link))
    }
    return { _tag: "Inside", path: at.join("/") }
  }

  return {
    resolve,
    /** Records an entry that passed: a symlink's target, and every directory its path lies in. */
    add: (path: string, symlinkTarget?: string) => {
      const segments = path.split("/")
      for (let index = 1; index < segments.length; index += 1) directories.add(segments.slice(0, index).join("/"))
      if (symlinkTarget !== undefined) links.set(path, symlinkTarget)
    },
    addDirectory: (path: string) => void directories.add(path),
    isLink: (path: string) => links.has(path),
    isDirectory: (path: string) => directories.has(path)
  }
}
