import { readFile } from "node:fs/promises"
import { Effect } from "effect"

/** One reading of a cumulative CPU counter and the memory in use; cores follow from two readings. */
export interface UsageReading {
  readonly cpuNanos: number
  readonly memBytes: number
  readonly atNanos: number
}

export type UsageSource = "cgroup-v1" | "cgroup-v2" | "process"

const readText = (path: string) => Effect.tryPromise(() => readFile(path, "utf8"))
const readNumber = (path: string) =>
  readText(path).pipe(Effect.flatMap((text) => {
    const value = Number(text.trim())
    return Number.isFinite(value) ? Effect.succeed(value) : Effect.fail(new Error(`${path}: not a number`))
  }))

/** `key value` lines (memory.stat, cpu.stat) as a map. */
const readStat = (path: string) =>
  readText(path).pipe(Effect.map((text) => {
    const stat = new Map<string, number>()
    for (const line of text.split("\n")) {
      const [key, value] = line.split(" ")
      if (key !== undefined && value !== undefined) stat.set(key, Number(value))
    }
    return stat
  }))

const now = () => Number(process.hrtime.bigint())

// Page cache that the kernel can drop is not memory the workload needs (Docker's stats subtract it too).
const v1 = Effect.gen(function* () {
  const cpuNanos = yield* readNumber("/sys/fs/cgroup/cpuacct/cpuacct.usage")
  const usage = yield* readNumber("/sys/fs/cgroup/memory/memory.usage_in_bytes")
  const stat = yield* readStat("/sys/fs/cgroup/memory/memory.stat").pipe(Effect.orElseSucceed(() => new Map<string, number>()))
  const inactive = stat.get("total_inactive_file") ?? 0
  return { cpuNanos, memBytes: Math.max(0, usage - inactive), atNanos: now() }
})

const v2 = Effect.gen(function* () {
  const cpu = yield* readStat("/sys/fs/cgroup/cpu.stat")
  const usageUsec = cpu.get("usage_usec")
  if (usageUsec === undefined) return yield* Effect.fail(new Error("cpu.stat has no usage_usec"))
  const current = yield* readNumber("/sys/fs/cgroup/memory.current")
  const stat = yield* readStat("/sys/fs/cgroup/memory.stat").pipe(Effect.orElseSucceed(() => new Map<string, number>()))
  const inactive = stat.get("inactive_file") ?? 0
  return { cpuNanos: usageUsec * 1_000, memBytes: Math.max(0, current - inactive), atNanos: now() }
})

/** Only this process: what is left where no cgroup of the instance's own is readable. */
const ownProcess = Effect.sync((): UsageReading => {
  const cpu = process.cpuUsage()
  return { cpuNanos: (cpu.user + cpu.system) * 1_000, memBytes: process.memoryUsage().rss, atNanos: now() }
})

const readers: Record<UsageSource, Effect.Effect<UsageReading, unknown>> = { "cgroup-v1": v1, "cgroup-v2": v2, process: ownProcess }

/** The first source that reads: cgroup v1, then v2, then the process itself (or just `process` when asked). */
export const detectUsageSource = (preference: "auto" | "cgroup" | "process"): Effect.Effect<UsageSource> =>
  preference === "process"
    ? Effect.succeed("process")
    : v1.pipe(
      Effect.as<UsageSource>("cgroup-v1"),
      Effect.catch(() => v2.pipe(Effect.as<UsageSource>("cgroup-v2"))),
      Effect.orElseSucceed((): UsageSource => "process")
    )

/** Reads the source; a failed read of a cgroup file falls back to the process's own figures. */
export const readUsage = (source: UsageSource): Effect.Effect<UsageReading> =>
  readers[source].pipe(Effect.catch(() => ownProcess))

/** Cores in use between two readings. */
export const coresBetween = (before: UsageReading, after: UsageReading): number => {
  const wall = after.atNanos - before.atNanos
  return wall > 0 ? Math.max(0, (after.cpuNanos - before.cpuNanos) / wall) : 0
}
