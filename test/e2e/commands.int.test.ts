import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { internalCommandTypes, publicCommandTypes } from "../../domain/commands.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { controlPlaneTestLayer, jetStreamEvents, requestRaw, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"

const shadow = { instanceId: "shd-0123456789abcdef", clientId: "c30", tier: "basic", template: defaultTemplate, network: defaultNetwork }
const resources = { cpuMillis: 125, memoryMiB: 128 }
const plan = { launchId: "l30", shadowInstanceId: shadow.instanceId, productionInstanceId: "prd-0123456789abcdef", tier: "basic", template: defaultTemplate, network: defaultNetwork, resources }

/** Well-formed fields for every internal command, so that a refusal can only be for who sent it. */
const internalSamples: Record<string, unknown> = {
  CreateProfile: { clientId: "c30", tier: "premium" },
  ScaleProfile: { clientId: "c30", expected: { cpuMillis: 750 }, reason: "forecast: r" },
  RecordDependencies: { clientId: "c30", instanceId: shadow.instanceId, files: [] },
  RecordForecast: {
    clientId: "c30",
    metric: "cpu",
    model: "m",
    horizons: [],
    quality: { modelError: 0, lastValueError: 0, meanDemand: 0, shortfall: 0, slack: 0, scoredSteps: 0 },
    fallback: false,
    reason: "r"
  },
  DeployShadow: { ...shadow, resources },
  DeployProduction: { ...shadow, resources, launchId: "l30" },
  RecordInstanceStarted: { instanceId: shadow.instanceId, runtimeId: "rt-1" },
  MarkInstanceReady: { instanceId: shadow.instanceId },
  ResizeInstance: { instanceId: shadow.instanceId, resources, reason: "r" },
  MarkHeartbeatLost: { instanceId: shadow.instanceId, reason: "r" },
  RecreateInstance: { instanceId: shadow.instanceId, attempt: 1, runtimeId: "rt-2" },
  RecordStartFailed: { instanceId: shadow.instanceId, attempt: 1, reason: "r" },
  RecycleInstance: { instanceId: shadow.instanceId },
  ClaimPooledInstance: { instanceId: shadow.instanceId, clientId: "c30", resources },
  TerminateInstance: { instanceId: shadow.instanceId, reason: "r" },
  StartProvisioning: plan,
  RecordProductionProvisioned: { launchId: "l30", runtimeId: "rt-3", cpuMillis: 500, memoryMiB: 512 },
  StartStateTransfer: { launchId: "l30" },
  RecordStateTransfer: { launchId: "l30", bytes: 1, files: 1, checksum: "c".repeat(64), ms: 1, reset: [] },
  ShiftTraffic: { launchId: "l30", weight: 5 },
  CompleteLaunch: { launchId: "l30" },
  RollBackLaunch: { launchId: "l30", reason: "r" },
  RecordShadowReleased: { launchId: "l30", disposition: "terminated" },
  RetireProduction: { launchId: "l30" }
}

const countOf = (events: ReadonlyArray<{ readonly type: string }>, type: string) => events.filter((e) => e.type === type).length

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "90 seconds" })("commands over NATS", (it) => {
  it.effect("ConnectClient replies ok, and ClientConnected and ProfileCreated reach JetStream exactly once", () =>
    Effect.gen(function* () {
      const reply = yield* send("acme", "ConnectClient", { clientId: "c1", tier: "standard" })
      assert.isTrue(reply.ok, JSON.stringify(reply))
      assert.isFalse(reply.duplicate)
      assert.deepStrictEqual(reply.events!.map((e) => [e.type, e.stream, e.revision]), [["ClientConnected", "client-acme.c1", 0]])
      yield* eventually(
        jetStreamEvents("umbra.evt.acme.>").pipe(Effect.map((events) => countOf(events, "ProfileCreated") === 1)),
        10_000,
        "ProfileCreated on JetStream"
      )
      const events = yield* jetStreamEvents("umbra.evt.acme.>")
      assert.strictEqual(countOf(events, "ClientConnected"), 1)
      assert.strictEqual(countOf(events, "ProfileCreated"), 1)
      assert.strictEqual(new Set(events.map((e) => e.id)).size, events.length)
    }))

  it.effect("the same command sent twice appends once and answers the repeat as a duplicate", () =>
    Effect.gen(function* () {
      const commandId = randomUUID()
      const first = yield* send("acme", "ConnectClient", { clientId: "c2", tier: "basic" }, commandId)
      const again = yield* send("acme", "ConnectClient", { clientId: "c2", tier: "basic" }, commandId)
      assert.isTrue(first.ok && again.ok)
      assert.isTrue(again.duplicate)
      assert.deepStrictEqual(again.events!.map((e) => e.id), first.events!.map((e) => e.id))
      assert.lengthOf(yield* (yield* EventStore).readStream("client-acme.c2"), 1)
    }))

  it.effect("50 concurrent commands against one client leave a consistent stream", () =>
    Effect.gen(function* () {
      yield* send("acme", "ConnectClient", { clientId: "c3", tier: "basic" })
      const store = yield* EventStore
      yield* eventually(store.readStream("profile-acme.c3").pipe(Effect.map((s) => s.length === 1)), 10_000, "profile")
      const replies = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => send("acme", "RefineProfile", { clientId: "c3", expected: { cpuMillis: 600 + i }, reason: `forecast ${i}` }),
        { concurrency: "unbounded" }
      )
      assert.isTrue(replies.every((r) => r.ok), JSON.stringify(replies.find((r) => !r.ok)))
      const stream = yield* store.readStream("profile-acme.c3")
      assert.deepStrictEqual(stream.map((e) => e.revision), Array.from({ length: 51 }, (_, i) => i))
      const revisions = replies.map((r) => r.events![0]!.revision).sort((a, b) => a - b)
      assert.deepStrictEqual(revisions, Array.from({ length: 50 }, (_, i) => i + 1))
    }))

  it.effect("each kind of bad input gets its error and the store is unchanged", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const before = yield* store.headPosition()
      const valid = JSON.stringify({ commandId: randomUUID(), data: { clientId: "c9", tier: "basic" } })
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["umbra.cmd.acme.ConnectClient", "{not json", "MalformedRequest"],
        ["umbra.cmd.acme.ConnectClient", JSON.stringify({ data: {} }), "MalformedRequest"],
        ["umbra.cmd.acme.ConnectClient", JSON.stringify({ commandId: "nope", data: {} }), "MalformedRequest"],
        ["umbra.cmd.acme.LaunchRockets", valid, "UnknownCommand"],
        ["umbra.cmd.ACME.ConnectClient", valid, "InvalidTenant"],
        ["umbra.cmd.acme.ConnectClient", JSON.stringify({ commandId: randomUUID(), data: { clientId: "c9", tier: "gold" } }), "ValidationFailed"],
        ["umbra.cmd.acme.ConnectClient", JSON.stringify({ commandId: randomUUID(), data: { clientId: "c9", tier: "basic", pad: "x".repeat(70_000) } }), "PayloadTooLarge"],
        ["umbra.cmd.acme.RefineProfile", JSON.stringify({ commandId: randomUUID(), data: { clientId: "nobody", expected: {}, reason: "x" } }), "NotFound"]
      ]
      for (const [subject, body, tag] of cases) {
        const reply = yield* requestRaw(subject, body)
        assert.isFalse(reply.ok, `${tag}: ${JSON.stringify(reply)}`)
        assert.strictEqual(reply.error?.tag, tag, JSON.stringify(reply))
        assert.isNotEmpty(reply.error?.message)
      }
      assert.strictEqual(yield* store.headPosition(), before)
    }))

  it.effect("every internal command sent from outside is UnknownCommand and stores nothing; every public one works", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      assert.sameMembers([...internalCommandTypes], Object.keys(internalSamples), "a sample for every internal command")
      assert.sameMembers([...publicCommandTypes], ["ConnectClient", "DisconnectClient", "SetTemplate", "SetNetwork", "RefineProfile", "RequestProduction"])
      const before = yield* store.headPosition()
      for (const type of internalCommandTypes) {
        const reply = yield* send("acme", type, internalSamples[type])
        assert.isFalse(reply.ok, `${type}: ${JSON.stringify(reply)}`)
        assert.strictEqual(reply.error?.tag, "UnknownCommand", `${type}: ${JSON.stringify(reply)}`)
        assert.deepStrictEqual((reply.error?.details as { known: unknown }).known, publicCommandTypes, "the refusal lists only public commands")
      }
      assert.strictEqual(yield* store.headPosition(), before)

      const publicCases: ReadonlyArray<readonly [string, unknown, string]> = [
        ["ConnectClient", { clientId: "c31", tier: "basic" }, "ClientConnected"],
        ["SetTemplate", { clientId: "c31", template: { ...defaultTemplate, settings: { MODE: "warm" } } }, "TemplateChanged"],
        ["SetNetwork", { clientId: "c31", network: { ...defaultNetwork, egress: true } }, "NetworkChanged"],
        ["RefineProfile", { clientId: "c31", expected: { cpuMillis: 750 }, reason: "operator override" }, "ProfileRefined"],
        ["RequestProduction", { clientId: "c31", launchId: "l31" }, "LaunchRequested"],
        ["DisconnectClient", { clientId: "c31" }, "ClientDisconnected"]
      ]
      for (const [type, data, event] of publicCases) {
        if (type === "SetTemplate") yield* eventually(store.readStream("profile-acme.c31").pipe(Effect.map((s) => s.length === 1)), 10_000, "profile")
        const reply = yield* send("acme", type, data)
        assert.isTrue(reply.ok, `${type}: ${JSON.stringify(reply)}`)
        assert.deepStrictEqual(reply.events!.map((e) => e.type), [event])
      }
    }))
})
