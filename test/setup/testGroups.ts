/**
 * Which groups of tests this machine can run, decided from what was found on it. Pure, so the decision is
 * tested without a machine of each kind; `machineProbe.ts` finds the facts, `globalSetup.ts` acts on them.
 */

/** What the test setup found on the machine. */
export interface Machine {
  /** A Docker engine answers a ping (at `DOCKER_HOST`, or the default socket). */
  readonly dockerAnswers: boolean
  /** `DOCKER_HOST`, when set: a local dockerd would not be the engine it names. */
  readonly dockerHost: string | undefined
  /** The path of `dockerd`, when it is installed. */
  readonly dockerd: string | undefined
  readonly root: boolean
  /** `nft` is on the PATH. */
  readonly nft: boolean
  /** `/usr/bin/busybox`, the shell of the images the tests build. */
  readonly busybox: boolean
  /** `/usr/bin/chromium`, the browser the dashboard test drives. */
  readonly chromium: boolean
  /** `nats-server` is on the PATH. */
  readonly natsServer: boolean
}

/** A group of tests with a prerequisite of its own. */
export type Group = "integration" | "docker" | "browser"

export const groups: ReadonlyArray<Group> = ["integration", "docker", "browser"]

/** Whether a group runs; when it does not, why, in words that say what to install or do. */
export type GroupPlan = { readonly runs: true } | { readonly runs: false; readonly reason: string }

/** How the Docker group gets its engine: one that answers already, or a dockerd the setup starts (and stops). */
export type EnginePlan = { readonly kind: "answers" } | { readonly kind: "start"; readonly dockerd: string } | { readonly kind: "none" }

export interface TestPlan {
  readonly groups: { readonly [G in Group]: GroupPlan }
  readonly engine: EnginePlan
}

/** What each group covers, for the messages and the vitest tags' descriptions. */
export const groupDescriptions: { readonly [G in Group]: string } = {
  integration: "integration and end-to-end tests (*.int.test.ts, *.e2e.test.ts), on a nats-server of their own",
  docker: "tests on the Docker runtime (tagged docker)",
  browser: "the dashboard's browser test (tagged browser)"
}

const plainly = (missing: ReadonlyArray<string>): GroupPlan =>
  missing.length === 0 ? { runs: true } : { runs: false, reason: missing.join("; ") }

const planDocker = (machine: Machine): { readonly group: GroupPlan; readonly engine: EnginePlan } => {
  const missing: Array<string> = []
  let engine: EnginePlan = { kind: "answers" }
  if (!machine.dockerAnswers) {
    if (machine.dockerHost !== undefined) {
      missing.push(`the engine at DOCKER_HOST=${machine.dockerHost} does not answer (the setup starts a local dockerd only when DOCKER_HOST is unset)`)
    } else if (machine.dockerd === undefined) {
      missing.push("no Docker engine answers and dockerd is not installed (Debian: apt-get install -y docker.io)")
    } else if (!machine.root) {
      missing.push("no Docker engine answers, and only root may start dockerd")
    } else {
      engine = { kind: "start", dockerd: machine.dockerd }
    }
  }
  if (!machine.root) {
    missing.push("the Docker runtime puts each client on a network kept apart by nftables rules, which only root may set: run npm test as root")
  }
  if (!machine.nft) missing.push("nft is not installed (Debian: apt-get install -y nftables)")
  if (!machine.busybox) missing.push("/usr/bin/busybox is missing, the shell of the images the tests build (Debian: apt-get install -y busybox-static)")
  if (!machine.natsServer) missing.push("nats-server is not installed (Debian: apt-get install -y nats-server)")
  const group = plainly(missing)
  // Nothing is started for a group that will not run.
  return { group, engine: group.runs ? engine : { kind: "none" } }
}

/** Decides which groups run on `machine`, and whether a dockerd must be started for the Docker group. */
export const planTestGroups = (machine: Machine): TestPlan => {
  const docker = planDocker(machine)
  const natsMissing = machine.natsServer ? [] : ["nats-server is not installed (Debian: apt-get install -y nats-server)"]
  return {
    groups: {
      integration: plainly(natsMissing),
      docker: docker.group,
      browser: plainly([...natsMissing, ...(machine.chromium ? [] : ["/usr/bin/chromium is missing (Debian: apt-get install -y chromium)"])])
    },
    engine: docker.engine
  }
}

/**
 * The groups `UMBRA_TEST_REQUIRE` names (comma-separated, or `all`), so that CI fails where a developer's
 * machine would skip. An unknown name is an error, not a silent nothing.
 */
export const requiredGroups = (value: string | undefined): ReadonlyArray<Group> => {
  const names = (value ?? "").split(",").map((name) => name.trim()).filter((name) => name !== "")
  if (names.includes("all")) return groups
  const unknown = names.filter((name) => !(groups as ReadonlyArray<string>).includes(name))
  if (unknown.length > 0) {
    throw new Error(`UMBRA_TEST_REQUIRE names ${unknown.join(", ")}: the groups are ${groups.join(", ")} (or all)`)
  }
  return names as ReadonlyArray<Group>
}

/** One line per group that will not run: which, and why. */
export const notRunLines = (plan: TestPlan): ReadonlyArray<string> =>
  groups.flatMap((group) => {
    const planned = plan.groups[group]
    return planned.runs ? [] : [`NOT RUN: ${groupDescriptions[group]}, because ${planned.reason}`]
  })

/** The groups `required` names that this plan cannot run, as messages; empty when all can. */
export const unmetRequirements = (plan: TestPlan, required: ReadonlyArray<Group>): ReadonlyArray<string> =>
  required.flatMap((group) => {
    const planned = plan.groups[group]
    return planned.runs ? [] : [`UMBRA_TEST_REQUIRE names ${group}, which cannot run here: ${planned.reason}`]
  })

declare module "vitest" {
  export interface ProvidedContext {
    testPlan: TestPlan
  }
}

/** The tags of a suite that runs on `runtime`: a Docker suite joins the Docker group (`describe(name, { tags }, ...)`). */
export const runtimeTags = (runtime: "docker" | "process"): Array<string> => (runtime === "docker" ? ["docker"] : [])
