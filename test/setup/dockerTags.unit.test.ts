import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const testDir = fileURLToPath(new URL("../", import.meta.url))

/** What marks a test file as one that runs something on Docker. */
const usesDocker = /from "dockerode"|dockerRuntime|imagesLayer|buildImages|["']docker["']/

/** How such a file joins the Docker group: a file tag, or its Docker suites' tags. */
const tagged = /@module-tag docker|runtimeTags\(/

describe("the Docker group", () => {
  it("holds every integration test that runs on Docker, so that a machine without an engine skips it instead of failing it", async () => {
    const files = (await readdir(testDir, { recursive: true })).filter((file) => /\.(int|e2e)\.test\.ts$/.test(file))
    const docker: Array<string> = []
    const untagged: Array<string> = []
    for (const file of files) {
      const text = await readFile(join(testDir, file), "utf8")
      if (!usesDocker.test(text)) continue
      docker.push(file)
      if (!tagged.test(text)) untagged.push(file)
    }
    // The scan must find the Docker tests it is for, or finding none untagged would mean nothing.
    expect(docker).toEqual(expect.arrayContaining(["docker/dockerRuntime.int.test.ts", "e2e/launch.int.test.ts"]))
    expect(untagged.sort(), "Docker tests without `// @module-tag docker` or `describe(name, { tags: runtimeTags(runtime) }, …)`").toEqual([])
  })
})
