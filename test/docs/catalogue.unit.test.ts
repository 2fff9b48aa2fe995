import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { internalCommandTypes, publicCommandTypes } from "../../domain/commands.ts"
import { catalogueEnd, catalogueStart, messageSchemas, namedDomainSchemas, renderCatalogue, withCatalogue } from "../../infra/docs/eventCatalogue.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))

describe("the README's catalogue of commands and events", () => {
  it("is what the schemas say today (npm run catalogue writes it again)", async () => {
    const readme = await readFile(`${root}README.md`, "utf8")
    const catalogue = renderCatalogue(await namedDomainSchemas(`${root}domain`, messageSchemas()))
    // Compared as a whole, so that a test failure shows the lines that differ.
    expect(withCatalogue(readme, catalogue), "README.md's catalogue differs from the schemas: run `npm run catalogue`").toBe(readme)
  })

  it("names every command with who may send it, as the aggregates declare access", async () => {
    const catalogue = renderCatalogue(await namedDomainSchemas(`${root}domain`, messageSchemas()))
    for (const type of publicCommandTypes) expect(catalogue).toContain(`- \`${type}\` (public): `)
    for (const type of internalCommandTypes) expect(catalogue).toContain(`- \`${type}\` (internal): `)
  })

  it("refuses a README without its markers instead of appending somewhere", () => {
    expect(() => withCatalogue("# Umbra\n", "x")).toThrow(/no .*catalogue:start/)
    expect(withCatalogue(`a\n${catalogueStart}\nold\n${catalogueEnd}\nb`, "new")).toBe(`a\n${catalogueStart}\n\nnew\n\n${catalogueEnd}\nb`)
  })
})
