import { Effect, Layer, Stream } from "effect"
import { type InstanceInfo, type InstanceKey, InstanceRuntime, type InstanceSpec, RuntimeFailed } from "../../src/instanceRuntime.ts"

/** An in-memory InstanceRuntime for unit tests of the orchestrator (the real ones run in integration tests). */
export interface FakeRuntime {
  /** By instance id; an operation finds an instance only under its own tenant's key, as the real runtimes do. */
  readonly instances: Map<string, InstanceInfo>
  /** Every create, in order: how many containers were ever started. */
  readonly created: Array<InstanceSpec>
  readonly removed: Array<string>
  readonly resized: Array<{ readonly instanceId: string; readonly cpuMillis: number; readonly memoryMiB: number }>
  /** Simulates a container that died (still listed, not running). */
  readonly kill: (instanceId: string) => void
  /** Every start of a created or stopped instance, in order. */
  readonly started: Array<string>
  /** The archive of each state path that holds one, by `stateKey`: what importState stored or seedState gave. */
  readonly states: Map<string, Uint8Array>
  /** Every importState that completed, in order. */
  readonly imported: Array<{ readonly instanceId: string; readonly path: string }>
  /** Gives a state path the archive exportState returns for it. */
  readonly seedState: (instanceId: string, path: string, archive: Uint8Array) => void
}

export const stateKey = (instanceId: string, path: string) => `${instanceId}:${path}`

/** An empty tar archive: two zero blocks. */
const emptyArchive = new Uint8Array(1024)

export const makeFakeRuntime = (): FakeRuntime => {
  const instances = new Map<string, InstanceInfo>()
  const fake: FakeRuntime = {
    instances,
    created: [],
    removed: [],
    resized: [],
    kill: (instanceId) => {
      const info = instances.get(instanceId)
      if (info !== undefined) instances.set(instanceId, { ...info, running: false })
    },
    started: [],
    states: new Map(),
    imported: [],
    seedState: (instanceId, path, archive) => void fake.states.set(stateKey(instanceId, path), archive)
  }
  return fake
}

export const fakeRuntimeLayer = (fake: FakeRuntime) => {
  let next = 0
  const owned = ({ tenant, instanceId }: InstanceKey) => {
    const info = fake.instances.get(instanceId)
    return info?.tenant === tenant ? info : undefined
  }
  const found = (key: InstanceKey) =>
    Effect.suspend(() => {
      const info = owned(key)
      return info === undefined ? Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: `no instance ${key.instanceId}` })) : Effect.succeed(info)
    })
  return Layer.succeed(InstanceRuntime)(
    InstanceRuntime.of({
      kind: "process",
      create: (spec, options) =>
        Effect.sync(() => {
          fake.created.push(spec)
          const info: InstanceInfo = {
            tenant: spec.tenant,
            clientId: spec.clientId,
            instanceId: spec.instanceId,
            role: spec.role,
            runtimeId: `rt-${++next}`,
            image: spec.image,
            running: options?.start ?? true,
            cpuMillis: spec.cpuMillis,
            memoryMiB: spec.memoryMiB
          }
          fake.instances.set(spec.instanceId, info)
          return info
        }),
      start: (key) =>
        found(key).pipe(
          Effect.map((info) => {
            if (!info.running) fake.started.push(key.instanceId)
            const started = { ...info, running: true }
            fake.instances.set(key.instanceId, started)
            return started
          })
        ),
      resize: (key, limits) =>
        found(key).pipe(
          Effect.map((info) => {
            fake.resized.push({ instanceId: key.instanceId, ...limits })
            const resized = { ...info, ...limits }
            fake.instances.set(key.instanceId, resized)
            return resized
          })
        ),
      inspect: (key) => Effect.sync(() => owned(key)),
      stats: () => Stream.empty,
      stop: (key) => Effect.sync(() => (owned(key) === undefined ? undefined : fake.kill(key.instanceId))),
      remove: (key) =>
        Effect.sync(() => {
          if (owned(key) !== undefined && fake.instances.delete(key.instanceId)) fake.removed.push(key.instanceId)
        }),
      exportState: (key, path) =>
        Stream.unwrap(found(key).pipe(Effect.map(() => Stream.make(fake.states.get(stateKey(key.instanceId, path)) ?? emptyArchive)))),
      importState: (key, path, archive) =>
        found(key).pipe(
          Effect.andThen(Stream.runCollect(archive)),
          Effect.map((chunks) => {
            fake.states.set(stateKey(key.instanceId, path), Buffer.concat(chunks))
            fake.imported.push({ instanceId: key.instanceId, path })
          })
        ),
      list: (filter) =>
        Effect.sync(() =>
          [...fake.instances.values()].filter(
            (info) => (filter?.tenant === undefined || info.tenant === filter.tenant) && (filter?.role === undefined || info.role === filter.role)
          )
        )
    })
  )
}
