import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const layers = ["domain", "projections", "src", "infra"] as const
type Layer = (typeof layers)[number]

const sourcesUnder = (dir: string): ReadonlyArray<string> =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourcesUnder(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

/** Every relative import (type-only ones too: they couple the folders as much), as repository paths. */
const importsOf = (file: string): ReadonlyArray<string> =>
  [...readFileSync(join(root, file), "utf8").matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gm)].map((match) =>
    relative(root, resolve(root, dirname(file), match[1]!))
  )

const files = layers.flatMap((layer) => sourcesUnder(layer))
const layerOf = (path: string) => path.split("/")[0] as Layer
/** A folder of a layer (`src/instances`), or a file at the layer's top (`src/eventBus.ts`). */
const unitOf = (path: string) => path.split("/").slice(0, 2).join("/")

/** The first cycle in the graph of units, as a path that starts and ends at the same unit. */
const findCycle = (edges: ReadonlyMap<string, ReadonlySet<string>>): ReadonlyArray<string> | undefined => {
  const done = new Set<string>()
  const visit = (node: string, path: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node]
    if (done.has(node)) return undefined
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next, [...path, node])
      if (cycle !== undefined) return cycle
    }
    done.add(node)
    return undefined
  }
  for (const node of edges.keys()) {
    const cycle = visit(node, [])
    if (cycle !== undefined) return cycle
  }
  return undefined
}

describe("architecture", () => {
  it("imports point down the layers: domain ← projections ← src ← infra", () => {
    const allowed: Record<Layer, ReadonlyArray<Layer>> = {
      domain: ["domain"],
      projections: ["projections", "domain"],
      src: ["src", "projections", "domain"],
      infra: layers
    }
    const upward = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => !allowed[layerOf(file)].includes(layerOf(target)))
        .map((target) => `${file} → ${target}`)
    )
    assert.deepStrictEqual(upward, [])
  })

  it("src/ talks to ports only: no NATS, Docker, SQLite or KurrentDB client", () => {
    const adapters = /from\s+"(@nats-io\/[^"]+|dockerode|node:sqlite|@kurrent\/[^"]+)"/
    assert.deepStrictEqual(files.filter((file) => layerOf(file) === "src" && adapters.test(readFileSync(join(root, file), "utf8"))), [])
  })

  for (const layer of layers) {
    it(`the folders of ${layer}/ do not import each other in a circle`, () => {
      const edges = new Map<string, Set<string>>()
      for (const file of files.filter((f) => layerOf(f) === layer)) {
        for (const target of importsOf(file).filter((t) => layerOf(t) === layer && unitOf(t) !== unitOf(file))) {
          edges.set(unitOf(file), (edges.get(unitOf(file)) ?? new Set()).add(unitOf(target)))
        }
      }
      assert.deepStrictEqual(findCycle(edges), undefined)
    })
  }
})
