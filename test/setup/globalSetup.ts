import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { startDockerd, stopDockerd } from "./dockerEngine.ts"
import { claimStarted, joinTestEngine, leave } from "./engineUsers.ts"
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

  // Shared by every test run on this machine: an engine one of them started is stopped by the last to end.
  const users = join(tmpdir(), "umbra-test-dockerd")
  let usesTestEngine = false
  if (plan.engine.kind === "start") {
    const logFile = join(tmpdir(), `umbra-test-dockerd-${process.pid}.log`)
    say(`no Docker engine answers: starting ${plan.engine.dockerd} (log: ${logFile})`)
    const outcome = await startDockerd({ dockerd: plan.engine.dockerd, logFile, answers: dockerAnswers, timeoutMs: 60_000, afterExitMs: 10_000 })
    if (outcome.kind === "started") {
      claimStarted(users, outcome.engine.pid, process.pid)
      usesTestEngine = true
      say(`dockerd answers (PID ${outcome.engine.pid}); the last test run using it stops it when it ends`)
    } else {
      say("another Docker engine came up meanwhile; the tests use it")
    }
  }
  if (!usesTestEngine && plan.engine.kind !== "none") {
    const enginePid = joinTestEngine(users, process.pid)
    usesTestEngine = enginePid !== undefined
    if (usesTestEngine) say(`the Docker engine is a dockerd a test run started (PID ${enginePid}); the last test run using it stops it`)
  }

  return async () => {
    const left = usesTestEngine ? leave(users, process.pid) : { kind: "none" as const }
    if (left.kind === "last") {
      await stopDockerd({ pid: left.enginePid }, 30_000)
      say(`stopped the dockerd a test run started (PID ${left.enginePid})`)
    } else if (left.kind === "shared") {
      say(`left the dockerd a test run started running: test runs ${left.users.join(", ")} use it`)
    }
    // Said again at the end, where a reader of the summary looks.
    for (const line of notRun) say(line)
  }
}
