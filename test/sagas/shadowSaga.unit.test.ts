import { assert, describe, it } from "@effect/vitest"
import type { DomainEvent } from "../../domain/catalog.ts"
import type { ClientId, InstanceId, LaunchId } from "../../domain/ids.ts"
import { defaultPoolPolicy } from "../../domain/instance/poolPolicy.ts"
import { shadowInstanceId } from "../../domain/instance/shadowInstanceId.ts"
import { defaultSizingPolicy } from "../../domain/instance/sizingPolicy.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import type { DomainCommand } from "../../domain/commands.ts"
import type { CommandId } from "../../domain/ids.ts"
import { emptyPool, type PoolView } from "../../domain/instance/poolKey.ts"
import { makeShadowSaga, type ShadowSagaState } from "../../domain/sagas/shadowSaga.ts"

const saga = makeShadowSaga({ sizing: { fraction: 0.25, floor: { cpuMillis: 100, memoryMiB: 256 } }, pool: { size: 1 } })
const clientId = "c1" as ClientId
const created: DomainEvent = {
  _tag: "ProfileCreated",
  clientId,
  tier: "standard",
  expected: tierDefaults.standard,
  basis: "tier",
  template: defaultTemplate,
  network: defaultNetwork
}
const instanceId = shadowInstanceId("acme", "c1", "evt-1")

/** given(steps).when(event, pool).then(commands), the steps being those this saga itself recorded. */
const given = (history: ReadonlyArray<{ readonly event: DomainEvent; readonly commands: ReadonlyArray<DomainCommand> }>) => {
  let state: ShadowSagaState = saga.initialState
  history.forEach(({ event, commands }, i) => {
    state = saga.evolve(state, {
      event,
      commands: commands.map((command, k) => ({ commandId: `cmd-${i}-${k}` as CommandId, command }))
    })
  })
  return {
    when: (event: DomainEvent, pool: PoolView = emptyPool, eventId = "evt-1") => ({
      then: (expected: ReadonlyArray<DomainCommand>) =>
        assert.deepStrictEqual(saga.decide({ tenant: "acme", eventId, event, view: pool }, state), expected)
    })
  }
}

const deploy: DomainCommand = {
  _tag: "DeployShadow",
  instanceId,
  clientId,
  tier: "standard",
  template: defaultTemplate,
  network: defaultNetwork,
  resources: { cpuMillis: 500, memoryMiB: 1024 }
}

describe("shadow saga", () => {
  it("derives the instance id from tenant, client and profile generation, the same every time", () => {
    assert.strictEqual(shadowInstanceId("acme", "c1", "evt-1"), instanceId)
    assert.notStrictEqual(shadowInstanceId("acme", "c1", "evt-2"), instanceId)
    assert.match(instanceId, /^shd-[0-9a-f]{16}$/)
  })

  it("ProfileCreated → DeployShadow at the policy's fraction of the expected peak", () =>
    given([]).when(created).then([deploy]))

  it("never sizes below the floor", () => {
    const tiny = { ...created, expected: { cpuMillis: 100, memoryMiB: 128, storageGiB: 1 } } as DomainEvent
    const outputs = saga.decide({ tenant: "acme", eventId: "evt-1", event: tiny, view: emptyPool }, saga.initialState)
    assert.deepStrictEqual(outputs[0]!._tag === "DeployShadow" && outputs[0]!.resources, { cpuMillis: 100, memoryMiB: 256 })
  })

  it("ProfileCreated with a pooled shadow of the same image and tier → ClaimPooledInstance", () =>
    given([])
      .when(created, { available: ["shd-pooled" as InstanceId], size: 1 })
      .then([{ _tag: "ClaimPooledInstance", instanceId: "shd-pooled" as InstanceId, clientId, resources: { cpuMillis: 500, memoryMiB: 1024 } }]))

  it("a second ProfileCreated terminates the profile's earlier shadow before deploying the next", () =>
    given([{ event: created, commands: [deploy] }])
      .when(created, emptyPool, "evt-2")
      .then([
        { _tag: "TerminateInstance", instanceId, reason: "profile recreated" },
        { ...deploy, instanceId: shadowInstanceId("acme", "c1", "evt-2") }
      ]))

  it("ProfileRefined → ResizeInstance of the current shadow", () => {
    const refined: DomainEvent = { _tag: "ProfileRefined", clientId, expected: { cpuMillis: 4000, memoryMiB: 8192, storageGiB: 50 }, previous: tierDefaults.standard, reason: "forecast", source: "scaling" }
    given([{ event: created, commands: [deploy] }])
      .when(refined)
      .then([{ _tag: "ResizeInstance", instanceId, resources: { cpuMillis: 1000, memoryMiB: 2048 }, reason: "profile refined (scaling): forecast" }])
    given([]).when(refined).then([])
  })

  it("ClientDisconnected → RecycleInstance while the pool has room, TerminateInstance once it is full", () => {
    const disconnected: DomainEvent = { _tag: "ClientDisconnected", clientId, reason: "bye" }
    given([{ event: created, commands: [deploy] }]).when(disconnected, emptyPool).then([{ _tag: "RecycleInstance", instanceId }])
    given([{ event: created, commands: [deploy] }])
      .when(disconnected, { available: ["shd-x" as InstanceId], size: 1 })
      .then([{ _tag: "TerminateInstance", instanceId, reason: "client disconnected" }])
    given([]).when(disconnected).then([])
  })

  it("forgets the shadow once released, so a later refinement does not touch the pooled one", () => {
    const disconnected: DomainEvent = { _tag: "ClientDisconnected", clientId, reason: "bye" }
    const refined: DomainEvent = { _tag: "ProfileRefined", clientId, expected: tierDefaults.premium, previous: tierDefaults.standard, reason: "forecast", source: "scaling" }
    given([
      { event: created, commands: [deploy] },
      { event: disconnected, commands: [{ _tag: "RecycleInstance", instanceId }] }
    ]).when(refined).then([])
  })

  it("forgets the shadow a launch released to production: a later disconnect does not recycle it again", () => {
    const disconnected: DomainEvent = { _tag: "ClientDisconnected", clientId, reason: "bye" }
    const released = (shadow: InstanceId): DomainEvent => ({ _tag: "ShadowReleased", launchId: "l1" as LaunchId, clientId, shadowInstanceId: shadow, disposition: "recycled" })
    given([{ event: created, commands: [deploy] }, { event: released(instanceId), commands: [] }]).when(disconnected).then([])
    given([{ event: created, commands: [deploy] }, { event: released("shd-other" as InstanceId), commands: [] }])
      .when(disconnected)
      .then([{ _tag: "RecycleInstance", instanceId }])
  })

  it("uses the default policies when none are configured", () => {
    const defaults = makeShadowSaga({ sizing: defaultSizingPolicy, pool: defaultPoolPolicy })
    assert.strictEqual(defaults.decide({ tenant: "acme", eventId: "e", event: created, view: emptyPool }, defaults.initialState)[0]!._tag, "DeployShadow")
  })
})
