import { constants } from "node:fs"
import { access } from "node:fs/promises"
import { delimiter, join } from "node:path"
import Docker from "dockerode"
import { findNatsServerBinary } from "../../infra/nats/natsServerProcess.ts"
import type { Machine } from "./testGroups.ts"

const executable = (path: string) => access(path, constants.X_OK).then(() => true, () => false)

/** The first `name` on the PATH, then in `extraDirs`. */
export const onPath = async (name: string, extraDirs: ReadonlyArray<string> = []): Promise<string | undefined> => {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), ...extraDirs].filter((dir) => dir !== "")
  for (const dir of dirs) {
    const path = join(dir, name)
    if (await executable(path)) return path
  }
  return undefined
}

/** Whether a Docker engine answers a ping, where dockerode (and so every test) would reach it. */
export const dockerAnswers = (): Promise<boolean> =>
  new Docker({ timeout: 3_000 }).ping().then(() => true, () => false)

const sbin = ["/usr/local/sbin", "/usr/sbin", "/sbin"]

/** What the test groups need, as found on this machine now. */
export const observeMachine = async (): Promise<Machine> => {
  const [answers, dockerd, nft, busybox, chromium] = await Promise.all([
    dockerAnswers(),
    // dockerd and nft live in sbin, which a user's PATH may lack.
    onPath("dockerd", sbin),
    onPath("nft", sbin),
    executable("/usr/bin/busybox"),
    executable("/usr/bin/chromium")
  ])
  return {
    dockerAnswers: answers,
    dockerHost: process.env["DOCKER_HOST"] || undefined,
    dockerd,
    root: process.getuid?.() === 0,
    nft: nft !== undefined,
    busybox,
    chromium,
    // The same lookup the tests' nats-server harness makes.
    natsServer: findNatsServerBinary() !== undefined
  }
}
