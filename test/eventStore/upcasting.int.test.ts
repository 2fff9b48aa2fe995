import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { encodeCommand } from "../../domain/commands.ts"
import type { NewEvent } from "../../domain/envelope.ts"
import type { ClientId, InstanceId } from "../../domain/ids.ts"
import { profileAggregate } from "../../domain/profile/profile.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { sagaStream } from "../../domain/sagas/saga.ts"
import { shadowSagaFold } from "../../domain/sagas/shadowSaga.ts"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { layerInMemory as projectionsInMemory } from "../../infra/readModels/sqliteProjections.ts"
import { profiles } from "../../projections/profiles.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { loadAggregate, loadAggregateHistory } from "../../src/commands/loadAggregate.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.ts"
import { profileQuery } from "../../src/queries/profileQuery.ts"
import { loadSagaState } from "../../src/sagas/sagaSteps.ts"
import { command } from "../support/commands.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-upcasting-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A fresh SQLite store on its own file, a command handler over it and a read-model database. */
const services = (name: string) => CommandHandler.layer.pipe(Layer.provideMerge(Layer.mergeAll(layerFile(join(dir, `${name}.db`)), projectionsInMemory)))

/** An event as Umbra wrote it at version 1 (ProfileRefined without `source`, a saga step without its input's version). */
const writtenAtV1 = (type: string, id: string, data: Record<string, unknown>): NewEvent => ({
  id,
  type,
  at: "2026-10-01T12:00:00.000Z",
  tenant: "acme",
  correlationId: id,
  causationId: id,
  schemaVersion: 1,
  data
})

const forecastExpected = { cpuMillis: 3000, memoryMiB: 6144, storageGiB: 50 }
const manualExpected = { ...forecastExpected, cpuMillis: 3500 }
const oldHistory = [
  writtenAtV1("ProfileRefined", randomUUID(), { clientId: "c1", expected: forecastExpected, previous: tierDefaults.standard, reason: "forecast: 60-minute provisioning bound 2.900 cores, 6000 MiB" }),
  writtenAtV1("ProfileRefined", randomUUID(), { clientId: "c1", expected: manualExpected, previous: forecastExpected, reason: "black friday" })
]

describe("old events through a real store", () => {
  it.live("v1 ProfileRefined appended raw into SQLite folds into today's state for the command handler and the Profile read model", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const handler = yield* CommandHandler
      yield* handler.handle(command("CreateProfile", { clientId: "c1", tier: "standard" }))
      yield* store.append("profile-acme.c1", 0, oldHistory)
      assert.deepStrictEqual((yield* store.readStream("profile-acme.c1")).map((e) => e.schemaVersion), [1, 1, 1])

      const loaded = yield* loadAggregate(profileAggregate, "acme", "c1")
      assert.deepStrictEqual(loaded.state._tag === "Active" ? loaded.state.expected : undefined, manualExpected)

      // The handler has folded the old events too: today's event records them as what it replaces.
      const outcome = yield* handler.handle(command("RefineProfile", { clientId: "c1", expected: { memoryMiB: 8192 }, reason: "more cache" }))
      assert.strictEqual(outcome.events[0]!.schemaVersion, 2)
      assert.deepStrictEqual(outcome.events[0]!.data, {
        clientId: "c1",
        expected: { ...manualExpected, memoryMiB: 8192 },
        previous: manualExpected,
        reason: "more cache",
        source: "manual"
      })

      const history = yield* loadAggregateHistory(profileAggregate, "acme", "c1")
      assert.deepStrictEqual(history.events.flatMap(({ event }) => (event._tag === "ProfileRefined" ? [event.source] : [])), ["scaling", "manual", "manual"])

      // The Profile read model, rebuilt from the log, says who made each refinement, the old ones included.
      yield* (yield* makeProjectionRunner(profiles)).catchUp()
      const profile = yield* profileQuery("acme", { clientId: "c1" as ClientId })
      assert.deepStrictEqual(profile.refinements.map(({ expected, source }) => [expected.cpuMillis, expected.memoryMiB, source]), [
        [3000, 6144, "scaling"],
        [3500, 6144, "manual"],
        [3500, 8192, "manual"]
      ])
    }).pipe(Effect.provide(services("fold"))))

  it.live("a v1 saga step appended raw folds into the saga's state, its input read as an event of version 1", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const created = { clientId: "c4", tier: "basic", expected: tierDefaults.basic, basis: "tier", template: defaultTemplate, network: defaultNetwork }
      const deploy = encodeCommand({
        _tag: "DeployShadow",
        instanceId: "shd-c4" as InstanceId,
        clientId: "c4" as ClientId,
        tier: "basic",
        template: defaultTemplate,
        network: defaultNetwork,
        resources: { cpuMillis: 125, memoryMiB: 128 }
      })
      const stream = sagaStream("shadow", "acme", "c4")
      const input = { eventId: randomUUID(), type: "ProfileCreated", stream: "profile-acme.c4", data: created }
      yield* store.append(stream, "no_stream", [
        writtenAtV1("SagaStepRecorded", randomUUID(), { saga: "shadow", input, commands: [{ commandId: randomUUID(), ...deploy }] })
      ])
      const state = yield* loadSagaState(shadowSagaFold)(stream)
      assert.deepStrictEqual(state.current?.instanceId, "shd-c4")
      assert.strictEqual(state.current?.tier, "basic")
    }).pipe(Effect.provide(services("saga"))))

  it.live("a stored event that does not match its own version's schema, or of a newer version, stops the fold naming it", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const handler = yield* CommandHandler
      for (const clientId of ["c2", "c3"]) yield* handler.handle(command("CreateProfile", { clientId, tier: "basic" }))
      const broken = writtenAtV1("ProfileRefined", randomUUID(), { clientId: "c2", expected: forecastExpected, reason: "forecast: no previous" })
      const newer = { ...writtenAtV1("ProfileRefined", randomUUID(), { clientId: "c3" }), schemaVersion: 3 }
      yield* store.append("profile-acme.c2", 0, [broken])
      yield* store.append("profile-acme.c3", 0, [newer])

      const refuse = (clientId: string) =>
        handler.handle(command("RefineProfile", { clientId, expected: { cpuMillis: 900 }, reason: "r" })).pipe(Effect.flip)
      const brokenRefusal = yield* refuse("c2")
      assert.strictEqual(brokenRefusal._tag, "ValidationFailed")
      assert.include(brokenRefusal.message, `event ${broken.id} (ProfileRefined v1) cannot be read as v2`)
      const newerRefusal = yield* refuse("c3")
      assert.strictEqual(newerRefusal._tag, "ValidationFailed")
      assert.include(newerRefusal.message, `event ${newer.id} has type ProfileRefined v3, which this version of Umbra cannot read`)
      assert.lengthOf(yield* store.readStream("profile-acme.c2"), 2, "nothing was appended")
    }).pipe(Effect.provide(services("refusals"))))
})
