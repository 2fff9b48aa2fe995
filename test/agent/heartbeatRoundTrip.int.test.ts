import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { InstanceId } from "../../domain/ids.ts"
import { defaultPhiAccrualConfig } from "../../domain/instance/phiAccrual.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { Heartbeat, TelemetrySample } from "../../domain/signals.ts"
import { subjects } from "../../domain/subjects.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import * as natsConnection from "../../infra/nats/connection.ts"
import { answerHeartbeats } from "../../infra/nats/heartbeatEcho.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { natsServer } from "../../infra/nats/natsServerProcess.ts"
import { type CommandEnvelope, CommandHandler } from "../../src/commands/commandHandler.ts"
import { makeWatchdog } from "../../src/instances/watchdog.ts"
import { command } from "../support/commands.ts"
import { eventually } from "../support/eventually.ts"
import { stopProcess } from "../support/serveProcess.ts"

const agentMain = join(import.meta.dirname, "..", "..", "infra", "cli", "agentMain.ts")

// The agent's permissions of nats.production.accounts.conf for one tenant: it can time its heartbeats with no more.
const config = `
authorization {
  users: [
    { user: umbra, password: control }
    {
      user: agent-t1
      password: secret
      permissions: {
        publish: { allow: ["umbra.sig.t1.>"] }
        subscribe: { allow: ["umbra.ctl.t1.>", "_INBOX_agent_t1.>"] }
        allow_responses: true
      }
    }
  ]
}
`

const agent = (url: string, instanceId: string) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [agentMain], {
        env: {
          ...process.env,
          NATS_URL: url,
          NATS_USER: "agent-t1",
          NATS_PASSWORD: "secret",
          UMBRA_TENANT: "t1",
          UMBRA_INSTANCE_ID: instanceId,
          UMBRA_HEARTBEAT_MS: "100",
          UMBRA_TELEMETRY_MS: "200",
          UMBRA_USAGE_SOURCE: "process",
          UMBRA_LOG_LEVEL: "warn"
        },
        stdio: "ignore"
      })
    ),
    (child) => stopProcess(child, "SIGKILL")
  )

const inTenant = (envelope: CommandEnvelope, tenant: string): CommandEnvelope => ({ ...envelope, tenant })

const decodeHeartbeat = Schema.decodeUnknownSync(Schema.fromJsonString(Heartbeat))
const decodeSample = Schema.decodeUnknownSync(Schema.fromJsonString(TelemetrySample))

describe("heartbeat round trip", () => {
  it.live("an agent with its tenant's credentials times each heartbeat to the control plane's echo, reports it in heartbeats and telemetry; the watchdog keeps last, p50 and p99", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "umbra-rtt-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      writeFileSync(join(dir, "nats.conf"), config)
      const server = yield* natsServer({ storeDir: join(dir, "store"), configFile: join(dir, "nats.conf") })
      const umbra = Layer.mergeAll(natsEventBus.layer(), jetstreamSetup.layer(), CommandHandler.layer.pipe(Layer.provideMerge(memoryStore))).pipe(
        Layer.provideMerge(natsConnection.layer({ url: server.url, user: "umbra", password: "control" }))
      )
      yield* Effect.gen(function* () {
        const instanceId = "shd-rtt" as InstanceId
        const handler = yield* CommandHandler
        yield* handler.handle(inTenant(command("DeployShadow", {
          instanceId, clientId: "c1", tier: "basic", template: defaultTemplate, network: defaultNetwork, resources: { cpuMillis: 100, memoryMiB: 128 }
        }), "t1"))
        yield* handler.handle(inTenant(command("RecordInstanceStarted", { instanceId, runtimeId: "rt-1" }), "t1"))
        const watchdog = yield* makeWatchdog({ phi: { ...defaultPhiAccrualConfig, expectedIntervalMs: 100, startupGraceMs: 30_000 }, checkEveryMs: 100 })
        yield* watchdog.watch({ tenant: "t1", instanceId, epoch: "t1/shd-rtt/rt-1/0/c1", ready: false })
        yield* answerHeartbeats()

        const nc = yield* natsConnection.NatsConnection
        const beats = nc.subscribe(subjects.signal("t1", instanceId, "hb"))
        const samples = nc.subscribe(subjects.signal("t1", instanceId, "tm"))
        yield* agent(server.url, instanceId)

        // The agent reports the round trip it measured in its next heartbeats.
        const measured = yield* Effect.promise(async () => {
          for await (const message of beats) {
            const beat = decodeHeartbeat(message.string())
            if (beat.rttMs !== undefined) return beat
          }
          return undefined
        }).pipe(Effect.timeout("30 seconds"))
        assert.isDefined(measured?.rttMs)
        assert.isAtLeast(measured!.rttMs!, 0)
        assert.isBelow(measured!.rttMs!, 5_000)

        // And in telemetry, where it becomes a bucket series like the workload's own metrics.
        const sampled = yield* Effect.promise(async () => {
          for await (const message of samples) {
            const rttMs = decodeSample(message.string()).metrics?.["heartbeatRttMs"]
            if (rttMs !== undefined) return rttMs
          }
          return undefined
        }).pipe(Effect.timeout("30 seconds"))
        assert.isAtLeast(sampled!, 0)

        const latencyOf = watchdog.watched.pipe(Effect.map((all) => all.find((one) => one.instanceId === instanceId)?.latency))
        yield* eventually(latencyOf.pipe(Effect.map((found) => (found?.samples ?? 0) >= 5)), 20_000, "five round trips in the watchdog")
        const latency = yield* latencyOf
        assert.isAtMost(latency!.p50Ms, latency!.p99Ms)
        assert.isBelow(latency!.p99Ms, 5_000)
        assert.strictEqual(yield* watchdog.latencyRises, 0)
      }).pipe(Effect.provide(umbra))
    }).pipe(Effect.scoped), 90_000)
})
