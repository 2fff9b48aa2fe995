import { Effect, Layer, Stream } from "effect"
import { type InstanceInfo, InstanceRuntime, type InstanceSpec } from "../../src/instanceRuntime.ts"

/** An in-memory InstanceRuntime for unit tests of the orchestrator (the real ones run in integration tests). */
export interface FakeRuntime {
  readonly instances: Map<string, InstanceInfo>
  /** Every create, in order: how many containers were ever started. */
  readonly created: Array<InstanceSpec>
  readonly removed: Array<string>
  readonly resized: Array<{ readonly instanceId: string; readonly cpuMillis: number; readonly memoryMiB: number }>
  /** Simulates a container that died (still listed, not running). */
  readonly kill: (instanceId: string) => void
}

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
    }
  }
  return fake
}

export const fakeRuntimeLayer = (fake: FakeRuntime) => {
  let next = 0
  return Layer.succeed(InstanceRuntime)(
    InstanceRuntime.of({
      kind: "process",
      create: (spec) =>
        Effect.sync(() => {
          fake.created.push(spec)
          const info: InstanceInfo = {
            tenant: spec.tenant,
            clientId: spec.clientId,
            instanceId: spec.instanceId,
            role: spec.role,
            runtimeId: `rt-${++next}`,
            image: spec.image,
            running: true,
            cpuMillis: spec.cpuMillis,
            memoryMiB: spec.memoryMiB
          }
          fake.instances.set(spec.instanceId, info)
          return info
        }),
      resize: (instanceId, limits) =>
        Effect.sync(() => {
          fake.resized.push({ instanceId, ...limits })
          const info = { ...fake.instances.get(instanceId)!, ...limits }
          fake.instances.set(instanceId, info)
          return info
        }),
      inspect: (instanceId) => Effect.sync(() => fake.instances.get(instanceId)),
      stats: () => Stream.empty,
      stop: (instanceId) => Effect.sync(() => fake.kill(instanceId)),
      remove: (instanceId) =>
        Effect.sync(() => {
          if (fake.instances.delete(instanceId)) fake.removed.push(instanceId)
        }),
      list: (filter) =>
        Effect.sync(() =>
          [...fake.instances.values()].filter(
            (info) => (filter?.tenant === undefined || info.tenant === filter.tenant) && (filter?.role === undefined || info.role === filter.role)
          )
        )
    })
  )
}
