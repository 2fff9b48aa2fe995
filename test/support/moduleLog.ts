/**
 * Loaded with `--import`: writes the URL of every module the process loads, one per line, to the file
 * `UMBRA_TEST_MODULE_LOG` names, when the process exits.
 */
import { registerHooks } from "node:module"
import { writeFileSync } from "node:fs"

const loaded: Array<string> = []
registerHooks({
  load: (url, context, next) => {
    loaded.push(url)
    return next(url, context)
  }
})
process.on("exit", () => writeFileSync(process.env["UMBRA_TEST_MODULE_LOG"]!, loaded.join("\n")))
