import { readFile, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { messageSchemas, namedDomainSchemas, renderCatalogue, withCatalogue } from "./eventCatalogue.ts"

/** `npm run catalogue`: writes the command and event catalogue into README.md between its markers. */
const root = fileURLToPath(new URL("../../", import.meta.url))
const readmePath = `${root}README.md`
const catalogue = renderCatalogue(await namedDomainSchemas(`${root}domain`, messageSchemas()))
const readme = await readFile(readmePath, "utf8")
const updated = withCatalogue(readme, catalogue)
if (updated === readme) {
  console.log("README.md: the catalogue is current")
} else {
  await writeFile(readmePath, updated)
  console.log("README.md: catalogue written")
}
