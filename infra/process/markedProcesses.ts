import { readdir, readFile } from "node:fs/promises"
import { Effect } from "effect"

/** The variable of an instance's environment that tells its processes from any other that reuses a PID. */
export const markerVariable = "UMBRA_INSTANCE_MARKER"

/** A process of an instance: the agent leads its process group; the workload, started by the agent, does not. */
export interface MarkedProcess {
  readonly pid: number
  readonly leader: boolean
}

/** Whether a process's environment (as /proc shows it) carries the marker; a zombie's is empty. */
export const carriesMarker = (environ: string, marker: string): boolean => environ.split("\0").includes(`${markerVariable}=${marker}`)

/** Every live process whose environment carries the marker, from /proc (Linux only). */
export const processesCarrying = (marker: string): Effect.Effect<ReadonlyArray<MarkedProcess>> =>
  Effect.promise(async () => {
    const found: Array<MarkedProcess> = []
    for (const name of await readdir("/proc").catch(() => [] as Array<string>)) {
      if (!/^\d+$/.test(name)) continue
      // Processes of other users cannot be read: they are not ours.
      const environ = await readFile(`/proc/${name}/environ`, "utf8").catch(() => undefined)
      if (environ === undefined || !carriesMarker(environ, marker)) continue
      const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => undefined)
      if (stat === undefined) continue
      // Fields after the command name (which may hold spaces): state, parent, process group.
      const group = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2])
      found.push({ pid: Number(name), leader: group === Number(name) })
    }
    return found
  })
