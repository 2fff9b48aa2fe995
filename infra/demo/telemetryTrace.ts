import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"

/** Where the project's real traces live when the checkout sits beside them (`../shared/traces`); never copied into the product. */
export const tracesDir = join(import.meta.dirname, "..", "..", "..", "shared", "traces")

/**
 * Three NAB CPU series (5-minute steps, CPU % of the instance), one per demo client, chosen for a level a
 * shadow can show: an auto-scaling group's with a daily cycle, a database's steady one, and a bursty EC2 one.
 */
const nabSeries = ["cpu_utilization_asg_misconfiguration.csv", "rds_cpu_utilization_e47b3b.csv", "ec2_cpu_utilization_77c1ca.csv"]

/** One client's demand, a CPU share (0..1) per 5-minute step, oldest first, and where it came from. */
export interface DemandTrace {
  readonly name: string
  readonly shares: ReadonlyArray<number>
}

export interface DemandTraces {
  readonly source: "real" | "synthetic"
  /** For a person: which files, or which pattern. */
  readonly description: string
  readonly traces: ReadonlyArray<DemandTrace>
}

const Percent = Schema.FiniteFromString.check(Schema.isBetween({ minimum: 0, maximum: 100 }))
const decodePercent = Schema.decodeUnknownOption(Percent)

/** The last `steps` values of a NAB CSV (`timestamp,value`), as shares; rows that do not parse are skipped. */
const readNab = (path: string, steps: number): ReadonlyArray<number> => {
  const values: Array<number> = []
  for (const line of readFileSync(path, "utf8").split("\n").slice(1)) {
    const value = decodePercent(line.split(",")[1]?.trim())
    if (value._tag === "Some") values.push(value.value / 100)
  }
  return values.slice(-steps)
}

/**
 * A realistic stand-in when the real traces are absent: a daily cycle, an hourly cron spike and a
 * deterministic jitter (the same run every time), different per client.
 */
export const syntheticShares = (client: number, steps: number): ReadonlyArray<number> =>
  Array.from({ length: steps }, (_, step) => {
    const day = Math.sin((2 * Math.PI * step) / 288 + client)
    const cron = step % 12 === 0 ? 0.25 : 0
    const jitter = ((Math.sin(step * 12.9898 + client * 78.233) * 43758.5453) % 1 + 1) % 1
    return Math.min(1, Math.max(0, 0.25 + 0.15 * client + 0.15 * day + cron + 0.05 * jitter))
  })

/** `count` traces of `steps` 5-minute steps: the real ones from `dir` when they are all there, else synthetic ones. */
export const loadDemandTraces = (count: number, steps: number, dir = tracesDir) =>
  Effect.sync((): DemandTraces => {
    const files = nabSeries.slice(0, count).map((name) => join(dir, "nab", name))
    if (files.length === count && files.every((file) => existsSync(file))) {
      const traces = files.map((file, i) => ({ name: nabSeries[i]!, shares: readNab(file, steps) }))
      if (traces.every((trace) => trace.shares.length === steps)) {
        return { source: "real", description: `NAB AWS CloudWatch CPU series from ${join(dir, "nab")} (${nabSeries.join(", ")})`, traces }
      }
    }
    return {
      source: "synthetic",
      description: `a synthetic pattern (daily cycle, hourly cron spikes, jitter): no traces at ${dir}`,
      traces: Array.from({ length: count }, (_, i) => ({ name: `synthetic-${i + 1}`, shares: syntheticShares(i, steps) }))
    }
  })
