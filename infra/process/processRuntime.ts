import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdir, open, rm } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Clock, Effect, Layer, Option, Schedule, Stream } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { defaultTemplate } from "../../domain/profile/template.ts"
import { InstanceCredentials } from "../../src/instanceCredentials.ts"
import {
  type InstanceInfo,
  type InstanceKey,
  type InstanceRole,
  InstanceRuntime,
  type InstanceSpec,
  type ResourceUsage,
  RuntimeFailed
} from "../../src/instanceRuntime.ts"
import { agentImage } from "../images/imageNames.ts"
import { sampleWorkloadEnv } from "../sampleWorkload/workloadEnv.ts"
import { credentialsFile, writeCredentialsFile } from "./credentialsFile.ts"
import { markerVariable, processesCarrying } from "./markedProcesses.ts"
import { readGroupUsage } from "./processGroupUsage.ts"
import { type InstancePlan, instanceDir, isAlive, type ProcessRecord, readRecord, readRecords, sharedDirs, writeRecord } from "./processRegistry.ts"
import { extractInto, packDirectory } from "./stateDirectory.ts"
import { openToWorkloads, prepareWorkloadDirectories } from "./workloadDirectories.ts"
import { workloadUser } from "./workloadUser.ts"
import { type AgentCredentials, agentCredentialsEnv } from "../natsAuth/natsAccess.ts"

export interface ProcessRuntimeOptions {
  /** Instances live under `<dataDir>/instances/<tenant>/<instanceId>/` (record, state, output). */
  readonly dataDir: string
  /** Given to instances whose spec sets no NATS_URL. */
  readonly natsUrl?: string
  /** What the agents share to connect to NATS with, when no `InstanceCredentials` mints each its own. */
  readonly agentCredentials?: AgentCredentials
  /** The Node binary that runs the agent and the workload; this process's own by default. */
  readonly nodeBinary?: string
  readonly stopGraceMs?: number
  /**
   * Whether specs may bring their own command or another image (`UMBRA_PROCESS_RUNTIME_TRUSTED=1`): the
   * process runtime isolates nothing, so only Umbra's sample workload and agent run without it.
   */
  readonly trusted?: boolean
  /** Who workloads run as when Umbra runs as root (`UMBRA_PROCESS_RUNTIME_USER`); `nobody` by default. */
  readonly workloadUser?: string
}

const repoRoot = resolve(import.meta.dirname, "..", "..")
const agentEntry = join(repoRoot, "infra", "cli", "agentMain.ts")

/**
 * What stands for an image here: the workload command it would run (the agent image has none). A spec's own
 * command runs on the host: only when the operator trusts every template.
 */
const workloadFor = (instanceId: string, image: string, command: ReadonlyArray<string> | undefined, node: string, trusted: boolean) => {
  if (command !== undefined && trusted) return Effect.succeed(command)
  if (command === undefined && image === defaultTemplate.image) return Effect.succeed([node, join(repoRoot, "infra", "sampleWorkload", "server.ts")])
  if (command === undefined && image === agentImage) return Effect.succeed(undefined)
  return Effect.fail(new RuntimeFailed({
    instanceId,
    message: trusted
      ? `the process runtime cannot run image ${image}: it runs ${defaultTemplate.image}, ${agentImage} or a spec with a command`
      : `the process runtime runs only ${defaultTemplate.image} and ${agentImage}, not ${command === undefined ? `image ${image}` : "a template's own command"}: it isolates nothing (set UMBRA_PROCESS_RUNTIME_TRUSTED=1 to run every template on this host)`
  }))
}

/** A key names directories: anything but two tokens could reach outside its tenant's own. */
const checkedKey = (key: InstanceKey): Effect.Effect<void, RuntimeFailed> =>
  tokenPattern.test(key.tenant) && tokenPattern.test(key.instanceId)
    ? Effect.void
    : Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: `${JSON.stringify(key.tenant)}/${JSON.stringify(key.instanceId)} is not a tenant and instance id` }))

/** The PID a record holds before its instance was ever started (`create` with `start: false`). */
const notStarted = 0

/** Alive, and the process we started; an instance never started has no process (PID 0 would be our own group). */
const running = (record: ProcessRecord) => (record.pid === notStarted ? Effect.succeed(false) : isAlive(record))

const infoOf = (record: ProcessRecord, running: boolean): InstanceInfo => ({
  tenant: record.tenant,
  clientId: record.clientId,
  instanceId: record.instanceId,
  role: record.role,
  runtimeId: record.pid === notStarted ? "" : String(record.pid),
  image: record.image,
  running,
  cpuMillis: record.cpuMillis,
  memoryMiB: record.memoryMiB
})

const signalProcess = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone.
  }
}

/** How long a stop waits for a killed process group to be gone. */
const killWaitMs = 5_000

/** A negative PID signals the whole process group. */
const signalGroup = (pid: number, signal: NodeJS.Signals) => Effect.sync(() => (pid === notStarted ? undefined : signalProcess(-pid, signal)))

const make = (options: ProcessRuntimeOptions) =>
  Effect.gen(function* () {
    const node = options.nodeBinary ?? process.execPath
    const dataDir = resolve(options.dataDir)
    const trusted = options.trusted ?? false
    yield* Effect.tryPromise({
      try: () => mkdir(join(dataDir, "instances"), { recursive: true }),
      catch: (cause) => new RuntimeFailed({ instanceId: "-", message: `cannot create ${dataDir}: ${String(cause)}` })
    })
    const user = yield* workloadUser(options.workloadUser ?? "nobody")
    const credentials = Option.getOrUndefined(yield* Effect.serviceOption(InstanceCredentials))
    yield* openToWorkloads(dataDir, [node, agentEntry], user)

    /** The record as it stands: an agent spawned before its PID was recorded (a crash in between) is adopted. */
    const adopted = (record: ProcessRecord) =>
      Effect.gen(function* () {
        if (record.pid !== notStarted || record.marker === "") return record
        const agent = (yield* processesCarrying(record.marker)).find((found) => found.leader)
        if (agent === undefined) return record
        const found = { ...record, pid: agent.pid }
        yield* writeRecord(instanceDir(dataDir, record.tenant, record.instanceId), found)
        yield* Effect.logInfo("instance process adopted").pipe(Effect.annotateLogs({ tenant: record.tenant, instanceId: record.instanceId, pid: agent.pid }))
        return found
      })

    /** The key's own record, in its tenant's directory: never another tenant's instance of the same id. */
    const find = (key: InstanceKey) =>
      checkedKey(key).pipe(
        Effect.andThen(readRecord(dataDir, key.tenant, key.instanceId)),
        Effect.flatMap((record) => (record === undefined ? Effect.succeed(undefined) : adopted(record)))
      )

    /**
     * Ends every process still carrying a marker: what an earlier spawn left (a workload whose agent died),
     * so that an instance never runs twice. Only processes carrying it are signalled, never a reused PID.
     */
    const endLeftovers = (instanceId: string, marker: string) =>
      Effect.gen(function* () {
        if (marker === "") return
        const gone = (yield* processesCarrying(marker).pipe(
          Effect.tap((found) => Effect.sync(() => found.forEach(({ pid }) => signalProcess(pid, "SIGKILL")))),
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (found) => found.length === 0, times: 100 })
        )).length === 0
        if (!gone) return yield* new RuntimeFailed({ instanceId, message: `processes of an earlier start of ${instanceId} would not end` })
      })

    const inspect = Effect.fn("ProcessRuntime.inspect")(function* (key: InstanceKey) {
      const record = yield* find(key)
      return record === undefined ? undefined : infoOf(record, yield* running(record))
    })

    const required = (key: InstanceKey) =>
      find(key).pipe(Effect.flatMap((record) =>
        record === undefined
          ? Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: `no process for instance ${key.instanceId}` }))
          : Effect.succeed(record)
      ))

    /** The plan a record keeps; a record from before plans were kept cannot be started again. */
    const planOf = (record: ProcessRecord) =>
      record.plan === undefined
        ? Effect.fail(new RuntimeFailed({ instanceId: record.instanceId, message: `instance ${record.instanceId} was recorded without a plan; recreate it` }))
        : Effect.succeed(record.plan)

    /** Spawns the agent of a recorded instance as its plan says, and records the new process. */
    const launch = (record: ProcessRecord) =>
      Effect.gen(function* () {
        const plan = yield* planOf(record)
        const workload = yield* workloadFor(record.instanceId, record.image, plan.command, node, trusted)
        const dir = instanceDir(dataDir, record.tenant, record.instanceId)
        const workDir = join(dir, "work")
        const shared = sharedDirs(dir, plan)
        yield* endLeftovers(record.instanceId, record.marker)
        // After the leftovers ended, so nothing of the workload's changes what is handed over meanwhile.
        yield* prepareWorkloadDirectories(record.instanceId, dir, [workDir, ...record.stateDirs, ...shared], user)
        const marker = randomUUID()
        // Recorded before the spawn: a crash between the two leaves a process this record finds and adopts.
        const intent = { ...record, pid: notStarted, marker }
        yield* writeRecord(dir, intent)
        const env: Record<string, string> = {
          PATH: process.env["PATH"] ?? "/usr/bin:/bin",
          NATS_URL: options.natsUrl ?? "nats://127.0.0.1:4222",
          ...(record.image === defaultTemplate.image ? sampleWorkloadEnv(8080, join(workDir, "metrics.json")) : {}),
          ...plan.env,
          UMBRA_TENANT: record.tenant,
          UMBRA_INSTANCE_ID: record.instanceId,
          UMBRA_STATE_PATHS: record.stateDirs.join(","),
          UMBRA_SHARED_STATE_PATHS: shared.join(","),
          // A cgroup read here would be the host's: the agent measures its own process group instead.
          UMBRA_USAGE_SOURCE: "process",
          // The heap is the one memory limit Node enforces on itself (agent and workload alike).
          NODE_OPTIONS: `--max-old-space-size=${Math.max(16, Math.floor(record.memoryMiB))}`,
          [markerVariable]: marker,
          ...(workload === undefined ? {} : { UMBRA_WORKLOAD: workload.join(" ") }),
          // A path, not the secret: the file is the instance's own, minted at create.
          ...(credentials === undefined ? agentCredentialsEnv(options.agentCredentials) : { NATS_CREDS: credentialsFile(dir) })
        }
        const pid = yield* Effect.tryPromise({
          try: async () => {
            const output = await open(join(dir, "output.log"), "a")
            try {
              // Detached: its own process group (killed as one), and it outlives a restart of Umbra.
              // Never as root: the agent, and the workload it starts, run as the workload user in its own directory.
              const child = spawn(node, [agentEntry], {
                cwd: workDir,
                env,
                detached: true,
                stdio: ["ignore", output.fd, output.fd],
                ...(user === undefined ? {} : { uid: user.uid, gid: user.gid })
              })
              await new Promise<void>((resolveSpawn, reject) => {
                child.once("spawn", resolveSpawn)
                child.once("error", reject)
              })
              child.unref()
              return child.pid!
            } finally {
              await output.close()
            }
          },
          catch: (cause) => new RuntimeFailed({ instanceId: record.instanceId, message: `cannot start the agent of ${record.instanceId}: ${String(cause)}` })
        })
        const started = { ...intent, pid }
        yield* writeRecord(dir, started)
        yield* Effect.logInfo("instance process started").pipe(Effect.annotateLogs({ tenant: record.tenant, instanceId: record.instanceId, pid }))
        return infoOf(started, true)
      })

    const create = Effect.fn("ProcessRuntime.create")(function* (spec: InstanceSpec, createOptions?: { readonly start?: boolean }) {
      const shouldStart = createOptions?.start ?? true
      const existing = yield* find(spec)
      if (existing !== undefined) {
        const alive = yield* running(existing)
        if (alive || !shouldStart) return infoOf(existing, alive)
      }
      // An image this runtime cannot run fails now, not at a later start.
      yield* workloadFor(spec.instanceId, spec.image, spec.command, node, trusted)
      const dir = instanceDir(dataDir, spec.tenant, spec.instanceId)
      // Each declared state path becomes a directory of the instance (the agent and workload get the real paths).
      const stateDirs = spec.statePaths.map((_, index) => join(dir, "state", String(index)))
      yield* Effect.tryPromise({
        // The instance's own directory holds its log even when it declares no state paths.
        try: async () => {
          for (const path of [dir, ...stateDirs]) await mkdir(path, { recursive: true })
        },
        catch: (cause) => new RuntimeFailed({ instanceId: spec.instanceId, message: `cannot create the directories of ${spec.instanceId}: ${String(cause)}` })
      })
      if (credentials !== undefined) {
        const creds = yield* credentials.mint(spec).pipe(Effect.mapError((error) => new RuntimeFailed({ instanceId: spec.instanceId, message: error.message })))
        yield* writeCredentialsFile(spec.instanceId, dir, creds, user)
      }
      const plan: InstancePlan = {
        ...(spec.command === undefined ? {} : { command: spec.command }),
        env: spec.env,
        statePaths: spec.statePaths,
        ...(spec.sharedStatePaths === undefined ? {} : { sharedStatePaths: spec.sharedStatePaths })
      }
      const record: ProcessRecord = {
        tenant: spec.tenant,
        clientId: spec.clientId,
        instanceId: spec.instanceId,
        role: spec.role,
        image: spec.image,
        pid: notStarted,
        // The last spawn's marker, so that what it left is found before the next.
        marker: existing?.marker ?? "",
        cpuMillis: spec.cpuMillis,
        memoryMiB: spec.memoryMiB,
        stateDirs,
        plan
      }
      if (shouldStart) return yield* launch(record)
      yield* writeRecord(dir, record)
      yield* Effect.logInfo("instance created, not started").pipe(Effect.annotateLogs({ tenant: spec.tenant, instanceId: spec.instanceId }))
      return infoOf(record, false)
    })

    const start = Effect.fn("ProcessRuntime.start")(function* (key: InstanceKey) {
      const record = yield* required(key)
      if (yield* running(record)) return infoOf(record, true)
      return yield* launch(record)
    })

    /** Records the limits: a running process keeps its heap limit and has no CPU limit (no cgroup of its own). */
    const resize = Effect.fn("ProcessRuntime.resize")(function* (
      key: InstanceKey,
      limits: { readonly cpuMillis: number; readonly memoryMiB: number }
    ) {
      const record = yield* required(key)
      const next = { ...record, cpuMillis: limits.cpuMillis, memoryMiB: limits.memoryMiB }
      yield* writeRecord(instanceDir(dataDir, record.tenant, record.instanceId), next)
      yield* Effect.logWarning("process runtime: new limits recorded, not enforced until the instance is recreated").pipe(
        Effect.annotateLogs({ ...key, ...limits })
      )
      return infoOf(next, yield* running(next))
    })

    const stats = (key: InstanceKey): Stream.Stream<ResourceUsage, RuntimeFailed> =>
      Stream.unwrap(required(key).pipe(Effect.map((record) => {
        // An instance never started has no process group to measure.
        if (record.pid === notStarted) return Stream.empty
        const reading = Effect.all([readGroupUsage(record.pid), Clock.currentTimeMillis])
        return Stream.fromEffect(reading).pipe(
          Stream.concat(Stream.fromEffectSchedule(reading, Schedule.spaced("1 second"))),
          Stream.mapAccum(() => undefined as readonly [{ cpuSeconds: number }, number] | undefined, (previous, current) => {
            const [usage, at] = current
            const cpu = previous === undefined || at <= previous[1] ? 0 : Math.max(0, (usage.cpuSeconds - previous[0].cpuSeconds) / ((at - previous[1]) / 1000))
            return [current, previous === undefined ? [] : [{ at: new Date(at).toISOString(), cpu, memBytes: usage.rssBytes }]]
          })
        )
      })))

    /** Whether the record's process ended within `ms`. */
    const endsWithin = (record: ProcessRecord, ms: number) =>
      running(record).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (alive) => !alive }),
        Effect.as(true),
        Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.succeed(false) })
      )

    const stopRecord = (record: ProcessRecord) =>
      Effect.gen(function* () {
        if (!(yield* running(record))) return
        yield* signalGroup(record.pid, "SIGTERM")
        if (yield* endsWithin(record, options.stopGraceMs ?? 10_000)) return
        yield* signalGroup(record.pid, "SIGKILL")
        // A killed process still runs until the kernel has torn it down: a stop returns once it has.
        if (!(yield* endsWithin(record, killWaitMs))) {
          return yield* new RuntimeFailed({ instanceId: record.instanceId, message: `the processes of ${record.instanceId} did not end on SIGKILL` })
        }
      })

    const stop = Effect.fn("ProcessRuntime.stop")(function* (key: InstanceKey) {
      const record = yield* find(key)
      if (record !== undefined) yield* stopRecord(record)
    })

    /** The instance's credentials end with it, even when a create failed before its record was written. */
    const revokeCredentials = (key: InstanceKey) =>
      credentials === undefined
        ? Effect.void
        : credentials.revoke(key).pipe(Effect.mapError((error) => new RuntimeFailed({ instanceId: key.instanceId, message: error.message })))

    const remove = Effect.fn("ProcessRuntime.remove")(function* (key: InstanceKey) {
      const { instanceId } = key
      const record = yield* find(key)
      if (record === undefined) return yield* revokeCredentials(key)
      yield* stopRecord(record)
      // Whatever still carries the marker (a workload whose agent died), and nothing else: its PID may be reused.
      yield* endLeftovers(instanceId, record.marker)
      yield* revokeCredentials(key)
      yield* Effect.tryPromise({
        try: () => rm(instanceDir(dataDir, record.tenant, record.instanceId), { recursive: true, force: true }),
        catch: (cause) => new RuntimeFailed({ instanceId, message: `cannot remove the files of ${instanceId}: ${String(cause)}` })
      })
    })

    const list = Effect.fn("ProcessRuntime.list")(function* (filter?: { readonly tenant?: string; readonly role?: InstanceRole }) {
      const records = yield* Effect.forEach(
        (yield* readRecords(dataDir, filter?.tenant)).filter((record) => filter?.role === undefined || record.role === filter.role),
        adopted
      )
      return yield* Effect.forEach(records, (record) => running(record).pipe(Effect.map((alive) => infoOf(record, alive))))
    })

    /** The directory standing for one of the instance's declared state paths. */
    const stateDir = (key: InstanceKey, path: string) =>
      Effect.gen(function* () {
        const { instanceId } = key
        const record = yield* required(key)
        const plan = yield* planOf(record)
        const dir = record.stateDirs[plan.statePaths.indexOf(path)]
        if (dir === undefined) return yield* new RuntimeFailed({ instanceId, message: `${path} is not a state path of instance ${instanceId}` })
        return dir
      })

    /**
     * Who may own what an export reads: with a workload user, that user's files, and Umbra's own (what it
     * imported) only while no process of the instance runs to swap them.
     */
    const exportOwners = (key: InstanceKey) =>
      user === undefined
        ? Effect.succeed(undefined)
        : required(key).pipe(Effect.flatMap(running), Effect.map((alive) => (alive ? [user.uid] : [user.uid, 0])))

    const exportState = (key: InstanceKey, path: string): Stream.Stream<Uint8Array, RuntimeFailed> =>
      Stream.unwrap(
        Effect.all([stateDir(key, path), exportOwners(key)]).pipe(Effect.map(([dir, owners]) => packDirectory(key.instanceId, dir, owners)))
      )

    const importState = Effect.fn("ProcessRuntime.importState")(function* (
      key: InstanceKey,
      path: string,
      archive: Stream.Stream<Uint8Array, RuntimeFailed>
    ) {
      yield* extractInto(key.instanceId, yield* stateDir(key, path), archive)
    })

    return InstanceRuntime.of({ kind: "process", create, start, resize, inspect, stats, stop, remove, exportState, importState, list })
  })

/** The instance runtime on plain child processes, for machines without Docker. */
export const layer = (options: ProcessRuntimeOptions): Layer.Layer<InstanceRuntime, RuntimeFailed> =>
  Layer.effect(InstanceRuntime, make(options))
