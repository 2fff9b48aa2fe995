import { Schema } from "effect"
import type { ResourceUsage } from "../../src/instanceRuntime.ts"

const CpuStats = Schema.Struct({
  cpu_usage: Schema.Struct({ total_usage: Schema.Number }),
  system_cpu_usage: Schema.optionalKey(Schema.Number),
  online_cpus: Schema.optionalKey(Schema.Number)
})

/** The part of one line of Docker's stats stream that usage is computed from. */
export const DockerStats = Schema.Struct({
  read: Schema.String,
  cpu_stats: CpuStats,
  precpu_stats: Schema.Struct({
    cpu_usage: Schema.Struct({ total_usage: Schema.Number }),
    system_cpu_usage: Schema.optionalKey(Schema.Number)
  }),
  memory_stats: Schema.Struct({
    usage: Schema.optionalKey(Schema.Number),
    stats: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number))
  })
})
export const DockerStatsJson = Schema.fromJsonString(DockerStats)
export type DockerStats = typeof DockerStats.Type

/** Cores in use (as `docker stats` computes them) and memory without the reclaimable page cache. */
export const usageOf = (stats: DockerStats): ResourceUsage => {
  const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0)
  const cpus = stats.cpu_stats.online_cpus ?? 1
  const cpu = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus : 0
  const memory = stats.memory_stats.stats ?? {}
  const inactive = memory["total_inactive_file"] ?? memory["inactive_file"] ?? 0
  return { at: stats.read, cpu, memBytes: Math.max(0, (stats.memory_stats.usage ?? 0) - inactive) }
}
