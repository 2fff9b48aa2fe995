import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Names of that shape which are no variables: the JetStream streams. */
const streams = new Set(["UMBRA_EVENTS", "UMBRA_SIGNALS", "UMBRA_DLQ"])

/** Every `UMBRA_*`, `NATS_*` and `KURRENTDB_*` name the code spells out as a string (read with Config or process.env, or set for an instance). */
const namesInCode = async (): Promise<ReadonlySet<string>> => {
  const names = new Set<string>()
  for (const dir of ["infra", "src", "projections", "domain"]) {
    for (const file of await readdir(join(root, dir), { recursive: true })) {
      if (!file.endsWith(".ts")) continue
      const text = await readFile(join(root, dir, file), "utf8")
      for (const match of text.matchAll(/["']((?:UMBRA|NATS|KURRENTDB)_[A-Z0-9_]*[A-Z0-9])["']|process\.env\.((?:UMBRA|NATS|KURRENTDB)_[A-Z0-9_]+)|^\s+((?:UMBRA|NATS|KURRENTDB)_[A-Z0-9_]*[A-Z0-9]):/gm)) {
        const name = match[1] ?? match[2] ?? match[3]!
        if (!streams.has(name)) names.add(name)
      }
    }
  }
  return names
}

/** The README's section `## Configuration`, up to the next section. */
const configurationSection = async () => {
  const readme = await readFile(join(root, "README.md"), "utf8")
  const start = readme.indexOf("\n## Configuration\n")
  expect(start, "README.md has a ## Configuration section").toBeGreaterThan(0)
  const end = readme.indexOf("\n## ", start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}

describe("the README's configuration tables", () => {
  it("list every variable the code reads or sets", async () => {
    const section = await configurationSection()
    const names = await namesInCode()
    // The scan itself must find what it is for, or an empty result would pass.
    expect([...names]).toEqual(expect.arrayContaining(["NATS_URL", "UMBRA_DATA_DIR", "UMBRA_LAUNCH_STEPS", "UMBRA_WORKLOAD", "KURRENTDB_URL"]))
    const missing = [...names].filter((name) => !section.includes(`\`${name}\``)).sort()
    expect(missing, "variables the code names that README.md's Configuration section does not list").toEqual([])
  })
})
