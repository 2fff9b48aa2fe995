import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { type StartedEngine, startDockerd, stopDockerd } from "./dockerEngine.ts"
import { dockerAnswers } from "./machineProbe.ts"
import { notRunLines, requiredGroups, unmetRequirements } from "./testGroups.ts"

const say = (line: string) => console.log(`[umbra test setup] ${line}`)

/**
 * Vitest's global setup: starts what the tests need and says which groups cannot run, and why. The plan was
 * made with the configuration (vitest.config.ts), which skips those groups' tests; a group that
 * `UMBRA_TEST_REQUIRE` names must run, so the run stops here instead (CI sets it to `all`).
 */
export default async function setup(project: TestProject) {
  const plan = project.getProvidedContext().testPlan
  const unmet = unmetRequirements(plan, requiredGroups(process.env["UMBRA_TEST_REQUIRE"]))
  if (unmet.length > 0) throw new Error(unmet.join("\n"))
  const notRun = notRunLines(plan)
  for (const line of notRun) say(line)

  let started: StartedEngine | undefined
  if (plan.engine.kind === "start") {
    const logFile = join(tmpdir(), `umbra-test-dockerd-${process.pid}.log`)
    say(`no Docker engine answers: starting ${plan.engine.dockerd} (log: ${logFile})`)
    const outcome = await startDockerd({ dockerd: plan.engine.dockerd, logFile, answers: dockerAnswers, timeoutMs: 60_000, afterExitMs: 10_000 })
    if (outcome.kind === "started") {
      started = outcome.engine
      say(`dockerd answers (PID ${started.pid}); it is stopped when the tests end`)
    } else {
      say("another Docker engine came up meanwhile; the tests use it and leave it running")
    }
  }

  return async () => {
    if (started !== undefined) {
      await stopDockerd(started, 30_000)
      say(`stopped the dockerd it started (PID ${started.pid})`)
    }
    // Said again at the end, where a reader of the summary looks.
    for (const line of notRun) say(line)
  }
}
