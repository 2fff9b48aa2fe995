import { Context, type Effect, Schema, type Stream } from "effect"
import type { Network } from "../domain/profile/template.ts"

export type InstanceRole = "shadow" | "production"

/**
 * Which instance an operation is on. An instance id names an instance only within its tenant: runtimes name
 * and find their resources by both, so one tenant's id never reaches another tenant's instance.
 */
export interface InstanceKey {
  readonly tenant: string
  readonly instanceId: string
}

export const instanceKey = (tenant: string, instanceId: string): InstanceKey => ({ tenant, instanceId })

/** Everything a runtime needs to start one instance. */
export interface InstanceSpec {
  readonly tenant: string
  readonly clientId: string
  readonly instanceId: string
  readonly role: InstanceRole
  readonly image: string
  readonly command?: ReadonlyArray<string>
  /** Settings of the template, plus what the agent needs (NATS URL, tenant, instance id, intervals). */
  readonly env: Readonly<Record<string, string>>
  /** Writable directories whose content is the workload's state (everything else is read-only). */
  readonly statePaths: ReadonlyArray<string>
  /**
   * Writable directories of the image's caches, not the client's: kept when a pooled shadow changes client,
   * never exported. The workload finds them in UMBRA_SHARED_STATE_PATHS.
   */
  readonly sharedStatePaths?: ReadonlyArray<string>
  readonly cpuMillis: number
  readonly memoryMiB: number
  readonly network: Network
}

/** What a runtime reports about an instance it runs; `runtimeId` is the container id or the process id. */
export interface InstanceInfo {
  readonly tenant: string
  readonly clientId: string
  readonly instanceId: string
  readonly role: InstanceRole
  readonly runtimeId: string
  readonly image: string
  readonly running: boolean
  readonly cpuMillis: number
  readonly memoryMiB: number
}

export interface ResourceUsage {
  readonly at: string
  /** Cores in use. */
  readonly cpu: number
  readonly memBytes: number
}

/**
 * The runtime refused or failed an operation; `instanceId` says on what. `message` may name the host's paths,
 * networks and settings: it is for Umbra's log. `tenantMessage` is what the instance's tenant may read in its
 * own events, where the failure is of something the tenant gave (the image its template names).
 */
export class RuntimeFailed extends Schema.TaggedError<RuntimeFailed>()("RuntimeFailed", {
  message: Schema.String,
  instanceId: Schema.String,
  tenantMessage: Schema.optional(Schema.String),
  /**
   * The runtime's engine did not answer (its socket gone or refusing, as while Docker restarts): that heals
   * by itself, so a consumer waits it out as it waits out the store or the bus, instead of parking the event.
   */
  engineUnavailable: Schema.optional(Schema.Boolean)
}) {}

/** What a tenant's event says of a failure whose message is for Umbra's log only. */
export const reasonInLog = "its reason is in Umbra's log"

/** A runtime failure as the tenant's events tell it: what the tenant may read, or where the rest is. */
export const tenantReason = (error: RuntimeFailed) => error.tenantMessage ?? reasonInLog

export interface InstanceRuntimeShape {
  /** `docker` or `process`: said in logs so an operator knows what runs the instances. */
  readonly kind: "docker" | "process"
  /**
   * Creates an instance and starts it, unless `start` is false: a production instance is created stopped so
   * that the shadow's state is imported before its workload first runs. Creating an instance that exists (the
   * same tenant and id) returns the existing one (started if asked).
   */
  readonly create: (spec: InstanceSpec, options?: { readonly start?: boolean }) => Effect.Effect<InstanceInfo, RuntimeFailed>
  /** Starts a created or stopped instance; starting a running one succeeds. */
  readonly start: (key: InstanceKey) => Effect.Effect<InstanceInfo, RuntimeFailed>
  /** Changes CPU and memory limits of a running instance without restarting it. */
  readonly resize: (key: InstanceKey, limits: { readonly cpuMillis: number; readonly memoryMiB: number }) => Effect.Effect<InstanceInfo, RuntimeFailed>
  readonly inspect: (key: InstanceKey) => Effect.Effect<InstanceInfo | undefined, RuntimeFailed>
  readonly stats: (key: InstanceKey) => Stream.Stream<ResourceUsage, RuntimeFailed>
  readonly stop: (key: InstanceKey) => Effect.Effect<void, RuntimeFailed>
  /** Stops (if needed) and removes; removing what is not there succeeds. */
  readonly remove: (key: InstanceKey) => Effect.Effect<void, RuntimeFailed>
  /**
   * The content of one state path as a tar archive, its entries relative to the path itself (`./` and no
   * leading directory), streamed from the runtime (never whole in memory). Works on a stopped instance.
   */
  readonly exportState: (key: InstanceKey, path: string) => Stream.Stream<Uint8Array, RuntimeFailed>
  /**
   * Extracts a tar archive (entries relative to the path) into one state path of a created or stopped
   * instance. The archive must already be checked: the runtime writes what it is given.
   */
  readonly importState: (key: InstanceKey, path: string, archive: Stream.Stream<Uint8Array, RuntimeFailed>) => Effect.Effect<void, RuntimeFailed>
  /** Umbra's instances, found by their labels (`umbra.tenant`, `umbra.client`, `umbra.instance`, `umbra.role`). */
  readonly list: (filter?: { readonly tenant?: string; readonly role?: InstanceRole }) => Effect.Effect<ReadonlyArray<InstanceInfo>, RuntimeFailed>
}

export class InstanceRuntime extends Context.Service<InstanceRuntime, InstanceRuntimeShape>()("umbra/InstanceRuntime") {}
