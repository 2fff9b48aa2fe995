import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { carriesMarker } from "./markedProcesses.ts"

/**
 * What the process runtime needs of a spec to start the instance later (`create` with `start: false`, then
 * `start`) and to find a state path's directory: `stateDirs` holds the directories, `statePaths` the
 * template's paths they stand for, in the same order.
 */
export const InstancePlan = Schema.Struct({
  command: Schema.optionalKey(Schema.Array(Schema.String)),
  env: Schema.Record(Schema.String, Schema.String),
  statePaths: Schema.Array(Schema.String)
})
export type InstancePlan = typeof InstancePlan.Type

/** What the process runtime remembers of an instance it created, in `<dataDir>/instances/<tenant>-<id>/`. */
export const ProcessRecord = Schema.Struct({
  tenant: Schema.String,
  clientId: Schema.String,
  instanceId: Schema.String,
  role: Schema.Literals(["shadow", "production"]),
  image: Schema.String,
  /** The agent's PID, also its process group (the workload is in the same group); 0 until it is spawned. */
  pid: Schema.Int,
  /**
   * In the environment of the agent and its workload: tells our process from another that reused the PID.
   * Recorded before the spawn, so a process whose PID a crash kept from the record is still found by it.
   */
  marker: Schema.String,
  cpuMillis: Schema.Number,
  memoryMiB: Schema.Number,
  stateDirs: Schema.Array(Schema.String),
  /** Absent in records written before instances could be created stopped: those cannot be started again. */
  plan: Schema.optionalKey(InstancePlan)
})
export type ProcessRecord = typeof ProcessRecord.Type
const ProcessRecordJson = Schema.fromJsonString(ProcessRecord)

export const instancesDir = (dataDir: string) => join(dataDir, "instances")
export const instanceDir = (dataDir: string, tenant: string, instanceId: string) => join(instancesDir(dataDir), `${tenant}-${instanceId}`)
const recordFile = (dir: string) => join(dir, "instance.json")

export const writeRecord = (dir: string, record: ProcessRecord) =>
  Effect.promise(async () => {
    await mkdir(dir, { recursive: true })
    await writeFile(`${recordFile(dir)}.tmp`, Schema.encodeSync(ProcessRecordJson)(record))
    await rename(`${recordFile(dir)}.tmp`, recordFile(dir))
  })

/** Every record under the data directory; unreadable ones are skipped (a half-created instance). */
export const readRecords = (dataDir: string): Effect.Effect<ReadonlyArray<ProcessRecord>> =>
  Effect.promise(() => readdir(instancesDir(dataDir)).catch(() => [] as Array<string>)).pipe(
    Effect.flatMap((names) =>
      Effect.forEach(names, (name) =>
        Effect.tryPromise(() => readFile(recordFile(join(instancesDir(dataDir), name)), "utf8")).pipe(
          Effect.flatMap(Schema.decodeUnknownEffect(ProcessRecordJson)),
          Effect.option
        ))
    ),
    Effect.map((found) => found.flatMap((record) => (record._tag === "Some" ? [record.value] : [])))
  )

/** Alive, and the same process we started: its environment still carries the marker. */
export const isAlive = (record: ProcessRecord): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    try {
      process.kill(record.pid, 0)
    } catch {
      return false
    }
    const environ = await readFile(`/proc/${record.pid}/environ`, "utf8").catch(() => undefined)
    if (environ === undefined) return true
    // A zombie (exited, not yet reaped by us) has an empty environ: not running.
    return carriesMarker(environ, record.marker)
  })
