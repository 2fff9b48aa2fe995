import { readdir, readFile } from "node:fs/promises"
import { Effect } from "effect"

// Linux fixes USER_HZ at 100 for /proc accounting and x86-64 pages at 4 KiB.
const ticksPerSecond = 100
const pageBytes = 4096

export interface GroupReading {
  readonly cpuSeconds: number
  readonly rssBytes: number
}

/** CPU time and resident memory of every process in a process group, from /proc (Linux only). */
export const readGroupUsage = (group: number): Effect.Effect<GroupReading> =>
  Effect.promise(async () => {
    let ticks = 0
    let pages = 0
    for (const pid of await readdir("/proc").catch(() => [] as Array<string>)) {
      if (!/^\d+$/.test(pid)) continue
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined)
      if (stat === undefined) continue
      // Fields after the command name (which may hold spaces) start at field 3, "state".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(fields[2]) !== group) continue
      ticks += Number(fields[11]) + Number(fields[12])
      pages += Number(fields[21])
    }
    return { cpuSeconds: ticks / ticksPerSecond, rssBytes: pages * pageBytes }
  })
