import { join } from "node:path"
import { Effect, Layer, Schema } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { TelemetrySample } from "../../domain/signals.ts"
import type { InstanceKey } from "../../src/instanceRuntime.ts"
import { credentialsSource } from "../docker/credentialsMount.ts"
import * as natsConnection from "../nats/connection.ts"
import { credsFileCredentials } from "../natsAuth/natsAccess.ts"
import { credentialsFile } from "../process/credentialsFile.ts"
import { instanceDir } from "../process/processRegistry.ts"

const stepMs = 5 * 60_000
const mebibyte = 1024 * 1024

/** The `.creds` file the runtime wrote for an instance's agent: the playback speaks with the instance's own voice. */
export const instanceCredsPath = (kind: "docker" | "process", dataDir: string, key: InstanceKey) =>
  kind === "process" ? credentialsFile(instanceDir(dataDir, key.tenant, key.instanceId)) : credentialsSource(join(dataDir, "instance-credentials"), key)

export interface Playback {
  readonly natsUrl: string
  readonly credsPath: string
  readonly key: InstanceKey
  readonly clientId: string
  /** CPU shares per 5-minute step, oldest first; the last step ends at the start of the current 5 minutes. */
  readonly shares: ReadonlyArray<number>
  /** The cores a share of 1 stands for: the profile's expected CPU. */
  readonly cores: number
}

const encodeSample = Schema.encodeUnknownSync(TelemetrySample)

/**
 * Plays a trace back as the instance's telemetry, much faster than it happened: each step's sample is
 * stamped at its place in the recent past (the control plane is told to accept signals that old), so the
 * ingest fills the 5-minute buckets the forecaster reads. All of it goes out at once: a forecaster that
 * looked at the first few hours only would still lean on the tier's prior (a wide bound, a refinement to
 * match). Memory is derived from CPU (traces have none): 256 MiB plus up to 768 MiB with load. Returns the
 * samples sent.
 */
export const playBack = (playback: Playback) =>
  Effect.gen(function* () {
    const nc = yield* natsConnection.NatsConnection
    const subject = subjects.signal(playback.key.tenant, playback.key.instanceId, "tm")
    const firstStep = Math.floor(Date.now() / stepMs) * stepMs - playback.shares.length * stepMs
    const encoder = new TextEncoder()
    for (const [step, share] of playback.shares.entries()) {
      const sample = encodeSample({
        instanceId: playback.key.instanceId,
        clientId: playback.clientId,
        at: new Date(firstStep + step * stepMs + stepMs / 2).toISOString(),
        cpu: share * playback.cores,
        memBytes: Math.round((256 + 768 * share) * mebibyte)
      })
      nc.publish(subject, encoder.encode(JSON.stringify(sample)))
    }
    yield* Effect.promise(() => nc.flush())
    return playback.shares.length
  }).pipe(
    Effect.provide(
      Layer.unwrap(
        Effect.map(credsFileCredentials(playback.credsPath), (credentials) =>
          natsConnection.layer({ url: playback.natsUrl, name: `umbra-demo-playback-${playback.key.instanceId}`, ...credentials })
        )
      )
    )
  )
