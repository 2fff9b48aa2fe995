import { configDefaults, defineConfig } from "vitest/config"
import { observeMachine } from "./test/setup/machineProbe.ts"
import { groupDescriptions, planTestGroups } from "./test/setup/testGroups.ts"

// What this machine can run is decided once, here, so that the groups it cannot run are skipped (and said
// so by the global setup) rather than failing on a missing engine or browser.
export default defineConfig(async () => {
  const plan = planTestGroups(await observeMachine())
  return {
    test: {
      include: ["test/**/*.test.ts"],
      exclude: [...configDefaults.exclude, ...(plan.groups.integration.runs ? [] : ["test/**/*.int.test.ts", "test/**/*.e2e.test.ts"])],
      globalSetup: ["test/setup/globalSetup.ts"],
      // A file joins a group with `// @module-tag docker` at its top; a suite with `{ tags: ["docker"] }`.
      tags: [
        { name: "docker", description: groupDescriptions.docker, skip: !plan.groups.docker.runs },
        { name: "browser", description: groupDescriptions.browser, skip: !plan.groups.browser.runs }
      ],
      provide: { testPlan: plan },
      testTimeout: 60_000,
      hookTimeout: 60_000
    }
  }
})
