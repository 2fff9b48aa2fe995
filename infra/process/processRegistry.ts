import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { carriesMarker } from "./markedProcesses.ts"

/**
 * What the process runtime needs of a spec to start the instance later (`create` with `start: false`, then
 * `start`) and to find a state path's directory: `stateDirs` holds the directories, `statePaths` the
 * template's paths they stand for, in the same order. Shared paths only need counting: their directories
 * are `sharedDirs` of the instance's.
 */
export const InstancePlan = Schema.Struct({
  command: Schema.optionalKey(Schema.Array(Schema.String)),
  env: Schema.Record(Schema.String, Schema.String),
  statePaths: Schema.Array(Schema.String),
  sharedStatePaths: Schema.optionalKey(Schema.Array(Schema.String))
})
export type InstancePlan = typeof InstancePlan.Type

/** What the process runtime remembers of an instance it created, in `<dataDir>/instances/<tenant>/<id>/`. */
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
/** Each tenant's instances under a directory of its own: one tenant's id never names another's directory. */
const tenantDir = (dataDir: string, tenant: string) => join(instancesDir(dataDir), tenant)
export const instanceDir = (dataDir: string, tenant: string, instanceId: string) => join(tenantDir(dataDir, tenant), instanceId)
/** The directories standing for a plan's shared paths: beside the state, kept as long as the instance. */
export const sharedDirs = (dir: string, plan: InstancePlan) => (plan.sharedStatePaths ?? []).map((_, index) => join(dir, "shared", String(index)))
const recordFile = (dir: string) => join(dir, "instance.json")

export const writeRecord = (dir: string, record: ProcessRecord) =>
  Effect.promise(async () => {
    await mkdir(dir, { recursive: true })
    await writeFile(`${recordFile(dir)}.tmp`, Schema.encodeSync(ProcessRecordJson)(record))
    await rename(`${recordFile(dir)}.tmp`, recordFile(dir))
  })

const namesIn = (dir: string) => Effect.promise(() => readdir(dir).catch(() => [] as Array<string>))

/** The record in an instance's directory, if it reads and names that instance; undefined for a half-created one. */
export const readRecord = (dataDir: string, tenant: string, instanceId: string): Effect.Effect<ProcessRecord | undefined> =>
  Effect.tryPromise(() => readFile(recordFile(instanceDir(dataDir, tenant, instanceId)), "utf8")).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(ProcessRecordJson)),
    Effect.map((record) => (record.tenant === tenant && record.instanceId === instanceId ? record : undefined)),
    Effect.orElseSucceed(() => undefined)
  )

/** The records of one tenant, or of every tenant; unreadable ones are skipped. */
export const readRecords = (dataDir: string, tenant?: string): Effect.Effect<ReadonlyArray<ProcessRecord>> =>
  Effect.gen(function* () {
    const tenants = tenant === undefined ? yield* namesIn(instancesDir(dataDir)) : [tenant]
    const found: Array<ProcessRecord> = []
    for (const owner of tenants) {
      for (const instanceId of yield* namesIn(tenantDir(dataDir, owner))) {
        const record = yield* readRecord(dataDir, owner, instanceId)
        if (record !== undefined) found.push(record)
      }
    }
    return found
  })

/** Alive, and the same process we started: its environment still carries the marker. */
export const isAlive = (record: ProcessRecord): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    try {
      process.kill(record.pid, 0)
    } catch {
      return false
    }
    const environ = await readFile(`/proc/${record.pid}/environ`, "utf8").catch((error: NodeJS.ErrnoException) => error)
    // Reaped since the signal found it: gone. Unreadable otherwise (another user's): it cannot be told apart, so alive.
    if (environ instanceof Error) return environ.code !== "ENOENT" && environ.code !== "ESRCH"
    // A zombie (exited, not yet reaped by us) has an empty environ: not running.
    return carriesMarker(environ, record.marker)
  })
