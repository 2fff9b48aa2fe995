import { readFileSync } from "node:fs"

/** CPU time in microseconds: this process (all its threads) and, where /proc can say, another process. */
export interface CpuTimes {
  readonly selfMicros: number
  readonly otherMicros: number | undefined
}

// /proc/<pid>/stat counts in clock ticks, 100 a second on Linux.
const microsPerTick = 10_000

/** utime + stime of `pid` from /proc (fields 14 and 15, counted after the parenthesised command name). */
const processMicros = (pid: number): number | undefined => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * microsPerTick
  } catch {
    return undefined
  }
}

/**
 * Starts counting the CPU this process and the process `otherPid` (the nats-server) spend; the function returned
 * says how much since. Per unit of work, these figures move far less with load from other processes than
 * throughput does.
 */
export const startCpu = (otherPid: number): (() => CpuTimes) => {
  const self = process.cpuUsage()
  const other = processMicros(otherPid)
  return () => {
    const used = process.cpuUsage(self)
    const otherNow = processMicros(otherPid)
    return {
      selfMicros: used.user + used.system,
      otherMicros: other === undefined || otherNow === undefined ? undefined : otherNow - other
    }
  }
}

/** Runs `run`, counting the CPU spent meanwhile as `startCpu` does. */
export const measureCpu = async <A>(otherPid: number, run: () => Promise<A>): Promise<{ readonly value: A; readonly cpu: CpuTimes }> => {
  const stop = startCpu(otherPid)
  const value = await run()
  return { value, cpu: stop() }
}

/** The CPU of several runs together (the other process's only when every run could say). */
export const totalCpu = (runs: ReadonlyArray<CpuTimes>): CpuTimes => ({
  selfMicros: runs.reduce((sum, run) => sum + run.selfMicros, 0),
  otherMicros: runs.every((run) => run.otherMicros !== undefined) ? runs.reduce((sum, run) => sum + run.otherMicros!, 0) : undefined
})

/** "12.3 µs here, 10.1 µs in nats-server" per unit. */
export const cpuPerUnit = (cpu: CpuTimes, units: number): string =>
  `${(cpu.selfMicros / units).toFixed(1)} µs here` +
  (cpu.otherMicros === undefined ? "" : `, ${(cpu.otherMicros / units).toFixed(1)} µs in nats-server`)
