import { assert } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { agentImage } from "../../infra/images/imageNames.ts"
import { type InstanceInfo, instanceKey, InstanceRuntime, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { archiveOf, filesOf, listArchive } from "./stateArchives.ts"

const ownersFile = "owned.txt"

/** The instance the attack is on: `shd-x` of `tenant`, the agent alone (no workload), one state path. */
export const ownedInstance = (tenant: string): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId: "shd-x",
  role: "shadow",
  image: agentImage,
  env: { UMBRA_HEARTBEAT_MS: "1000" },
  statePaths: ["/var/lib/umbra/state"],
  cpuMillis: 500,
  memoryMiB: 128,
  network: defaultNetwork
})

const refused = <A, E extends { readonly _tag: string }, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.flip,
    Effect.map((error) => assert.strictEqual(error._tag, "RuntimeFailed", what))
  )

/**
 * The cross-tenant attack on a runtime: `owner`'s instance runs with a file in its first state path; tenant
 * `other` then inspects, starts, resizes, exports, imports, stops, removes and finally creates the same
 * instance id. Each sees nothing, fails or acts on `other`'s own instance only; the owner's instance is
 * checked afterwards (still running, same runtime id, its file still there). Returns it as it was before the
 * attack, for the runtime's own checks (a process alive, a container and its volume there).
 */
export const crossTenantAttack = (owner: InstanceSpec, other: string) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    const path = owner.statePaths[0]!
    yield* runtime.create(owner, { start: false })
    yield* runtime.importState(owner, path, Stream.make(yield* archiveOf([{ name: `./${ownersFile}`, content: owner.tenant }])))
    const before: InstanceInfo = yield* runtime.start(owner)
    assert.isTrue(before.running)

    const intruder = instanceKey(other, owner.instanceId)
    assert.isUndefined(yield* runtime.inspect(intruder), "another tenant's inspect")
    yield* refused("another tenant's start", runtime.start(intruder))
    yield* refused("another tenant's resize", runtime.resize(intruder, { cpuMillis: 100, memoryMiB: 64 }))
    yield* refused("another tenant's export", Stream.runDrain(runtime.exportState(intruder, path)))
    const planted = yield* archiveOf([{ name: "./planted.txt", content: other }])
    yield* refused("another tenant's import", runtime.importState(intruder, path, Stream.make(planted)))
    yield* runtime.stop(intruder)
    yield* runtime.remove(intruder)
    assert.deepStrictEqual(yield* runtime.list({ tenant: other }), [])

    // The same id under the other tenant is an instance of its own, not the owner's adopted.
    const theirs = yield* runtime.create({ ...owner, tenant: other }, { start: false })
    assert.deepInclude(theirs, { tenant: other, instanceId: owner.instanceId, running: false })
    assert.notStrictEqual(theirs.runtimeId, before.runtimeId)
    assert.deepStrictEqual(filesOf(yield* listArchive(runtime.exportState(intruder, path))), {})
    yield* runtime.remove(intruder)
    assert.isUndefined(yield* runtime.inspect(intruder))

    const after = yield* runtime.inspect(owner)
    assert.deepInclude(after, { tenant: owner.tenant, instanceId: owner.instanceId, running: true, runtimeId: before.runtimeId })
    assert.deepInclude(after, { cpuMillis: before.cpuMillis, memoryMiB: before.memoryMiB })
    const files = filesOf(yield* listArchive(runtime.exportState(owner, path)))
    assert.deepStrictEqual(Object.keys(files), [ownersFile], "the owner's state as it was")
    assert.deepStrictEqual((yield* runtime.list({ tenant: owner.tenant })).map((info) => info.runtimeId), [before.runtimeId])
    return before
  })
