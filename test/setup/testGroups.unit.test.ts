import { describe, expect, it } from "vitest"
import { type Machine, notRunLines, planTestGroups, requiredGroups, unmetRequirements } from "./testGroups.ts"

/** A machine with every prerequisite and an engine that answers. */
const complete: Machine = {
  dockerAnswers: true,
  dockerHost: undefined,
  dockerd: "/usr/sbin/dockerd",
  root: true,
  nft: true,
  busybox: true,
  chromium: true,
  natsServer: true
}

describe("which test groups a machine runs", () => {
  it("an engine that answers is used as it is: every group runs, nothing is started", () => {
    const plan = planTestGroups(complete)
    expect(plan.engine).toEqual({ kind: "answers" })
    expect(plan.groups).toEqual({ integration: { runs: true }, docker: { runs: true }, browser: { runs: true } })
    expect(notRunLines(plan)).toEqual([])
  })

  it("no engine and dockerd installed: the setup starts it", () => {
    const plan = planTestGroups({ ...complete, dockerAnswers: false })
    expect(plan.engine).toEqual({ kind: "start", dockerd: "/usr/sbin/dockerd" })
    expect(plan.groups.docker).toEqual({ runs: true })
  })

  it("no engine and no dockerd: the Docker group is skipped, saying what to install", () => {
    const plan = planTestGroups({ ...complete, dockerAnswers: false, dockerd: undefined })
    expect(plan.engine).toEqual({ kind: "none" })
    expect(plan.groups.docker).toEqual({ runs: false, reason: expect.stringContaining("dockerd is not installed (Debian: apt-get install -y docker.io)") })
    expect(plan.groups.integration).toEqual({ runs: true })
    expect(notRunLines(plan)).toEqual([expect.stringMatching(/^NOT RUN: tests on the Docker runtime .*, because no Docker engine answers/)])
  })

  it("without root: nothing is started, and the Docker group is skipped for its nftables rules", () => {
    const plan = planTestGroups({ ...complete, dockerAnswers: false, root: false })
    expect(plan.engine).toEqual({ kind: "none" })
    const docker = plan.groups.docker
    expect(docker.runs).toBe(false)
    expect(!docker.runs && docker.reason).toMatch(/only root may start dockerd.*nftables rules, which only root may set/)
    // An engine that answers does not make up for root: the client networks' rules still need it.
    expect(planTestGroups({ ...complete, root: false }).groups.docker.runs).toBe(false)
  })

  it("DOCKER_HOST that does not answer: no local dockerd is started in its place", () => {
    const plan = planTestGroups({ ...complete, dockerAnswers: false, dockerHost: "tcp://10.0.0.5:2375" })
    expect(plan.engine).toEqual({ kind: "none" })
    expect(plan.groups.docker).toEqual({ runs: false, reason: expect.stringContaining("DOCKER_HOST=tcp://10.0.0.5:2375 does not answer") })
  })

  it("the images' busybox and nft are prerequisites of the Docker group", () => {
    expect(planTestGroups({ ...complete, busybox: false }).groups.docker).toEqual({ runs: false, reason: expect.stringContaining("busybox-static") })
    expect(planTestGroups({ ...complete, nft: false }).groups.docker).toEqual({ runs: false, reason: expect.stringContaining("nftables") })
  })

  it("no chromium skips the browser test; no nats-server skips every group that needs it", () => {
    expect(planTestGroups({ ...complete, chromium: false }).groups.browser).toEqual({ runs: false, reason: expect.stringContaining("apt-get install -y chromium") })
    const plan = planTestGroups({ ...complete, natsServer: false })
    expect(plan.engine).toEqual({ kind: "none" })
    expect(notRunLines(plan)).toHaveLength(3)
    for (const line of notRunLines(plan)) expect(line).toContain("apt-get install -y nats-server")
  })

  it("UMBRA_TEST_REQUIRE turns a skipped group into a failure, and refuses names it does not know", () => {
    expect(requiredGroups(undefined)).toEqual([])
    expect(requiredGroups("all")).toEqual(["integration", "docker", "browser"])
    expect(requiredGroups(" docker , browser")).toEqual(["docker", "browser"])
    expect(() => requiredGroups("dokcer")).toThrow(/names dokcer/)
    const plan = planTestGroups({ ...complete, chromium: false })
    expect(unmetRequirements(plan, ["docker"])).toEqual([])
    expect(unmetRequirements(plan, ["browser"])).toEqual([expect.stringContaining("names browser, which cannot run here: /usr/bin/chromium is missing")])
  })
})
