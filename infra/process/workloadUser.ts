import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"

/** Who the agent and the workload of a process instance run as. */
export interface WorkloadUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

const failed = (message: string) => new RuntimeFailed({ instanceId: "-", message })

/**
 * The user workloads run as: undefined when this process is not root (they keep its user, which is already
 * unprivileged); as root, `name` (an entry of /etc/passwd, never uid 0).
 */
export const workloadUser = (name: string): Effect.Effect<WorkloadUser | undefined, RuntimeFailed> =>
  Effect.gen(function* () {
    if (process.getuid?.() !== 0) return undefined
    const passwd = yield* Effect.tryPromise({ try: () => readFile("/etc/passwd", "utf8"), catch: (cause) => failed(`cannot read /etc/passwd: ${String(cause)}`) })
    const fields = passwd.split("\n").map((line) => line.split(":")).find((entry) => entry[0] === name)
    const uid = Number(fields?.[2])
    const gid = Number(fields?.[3])
    if (fields === undefined || !Number.isInteger(uid) || !Number.isInteger(gid)) return yield* failed(`no user ${JSON.stringify(name)} in /etc/passwd to run workloads as`)
    if (uid === 0) return yield* failed(`${JSON.stringify(name)} is root: workloads never run as root`)
    return { name, uid, gid }
  })
