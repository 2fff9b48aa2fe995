import { existsSync } from "node:fs"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { agentImage } from "../../infra/images/imageNames.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { instanceKey, InstanceRuntime } from "../../src/instanceRuntime.ts"
import { makeInstanceStep } from "../../src/instances/instanceRunner.ts"
import type { Watchdog } from "../../src/instances/watchdog.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { command } from "../support/commands.ts"
import { alive } from "../support/processAlive.ts"
import { processRuntimeFixture } from "../support/processHarness.ts"

const { tenant, dataDir, testLayer: runtimeLayer } = processRuntimeFixture("ct", 2_000)
const other = `${tenant}-b`
const instanceId = "shd-x" as InstanceId

const testLayer = Layer.mergeAll(CommandHandler.layer.pipe(Layer.provideMerge(memoryStore)), natsEventBus.layer()).pipe(Layer.provideMerge(runtimeLayer))

const unwatched: Watchdog = { watch: () => Effect.void, unwatch: () => Effect.void, watched: Effect.succeed([]), badSignals: Effect.succeed(0), latencyRises: Effect.succeed(0) }

/** An internal command of `owner`, handled in process as Umbra's sagas send it. */
const handle = (owner: string, type: string, data: unknown) =>
  CommandHandler.use((handler) => handler.handle({ ...command(type, data), tenant: owner }))

const deploy = (owner: string) =>
  handle(owner, "DeployShadow", {
    instanceId,
    clientId: "c1",
    tier: "basic",
    template: { ...defaultTemplate, image: agentImage, statePaths: ["/var/lib/umbra/state"] },
    network: defaultNetwork,
    resources: { cpuMillis: 100, memoryMiB: 128 }
  })

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("instance runner across tenants (process runtime)", (it) => {
  it.effect("another tenant's DeployShadow and TerminateInstance of the same instance id leave the owner's process and state alone", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      const step = yield* makeInstanceStep({ agent: { natsUrl: server.url, heartbeatMs: 1_000 }, recreation: { limit: 1, backoffMs: 1, maxBackoffMs: 1 } }, unwatched)
      const delivered = new Set<string>()
      // The instance runner's consumer, in process: every event not yet delivered, in order.
      const pump = Effect.gen(function* () {
        for (const event of yield* (yield* EventStore).readAll()) {
          if (delivered.has(event.id)) continue
          delivered.add(event.id)
          yield* step(event)
        }
      })
      const runtime = yield* InstanceRuntime

      yield* deploy(tenant)
      yield* pump
      const owners = (yield* runtime.inspect(instanceKey(tenant, instanceId)))!
      assert.isTrue(owners.running)

      yield* deploy(other)
      yield* pump
      const theirs = (yield* runtime.inspect(instanceKey(other, instanceId)))!
      assert.deepInclude(theirs, { tenant: other, running: true })
      assert.notStrictEqual(theirs.runtimeId, owners.runtimeId, "the other tenant's shadow is a process of its own, not the owner's adopted")

      yield* handle(other, "TerminateInstance", { instanceId, reason: "the other tenant ends its own shadow" })
      yield* pump
      assert.isUndefined(yield* runtime.inspect(instanceKey(other, instanceId)))
      assert.isFalse(alive(Number(theirs.runtimeId)))

      assert.deepInclude(yield* runtime.inspect(instanceKey(tenant, instanceId)), { running: true, runtimeId: owners.runtimeId })
      assert.isTrue(alive(Number(owners.runtimeId)), "the owner's agent still runs")
      assert.isTrue(existsSync(instanceDir(dataDir, tenant, instanceId)), "the owner's state directory is still there")
    }))
})
