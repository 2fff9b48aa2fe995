import { assert, describe, it } from "@effect/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, credsAuthenticator } from "@nats-io/transport-node"
import { Effect } from "effect"
import { join } from "node:path"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { freePort, natsServer } from "../../infra/nats/natsServerProcess.ts"
import { readUmbraCreds } from "../../infra/natsAuth/authDirectory.ts"
import { embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { scopedTempDir } from "./scopedTempDir.ts"

describe("Umbra's own server on a data directory from before authentication", () => {
  it.live("keeps the streams the anonymous server stored, now in Umbra's account", () =>
    Effect.gen(function* () {
      const dataDir = yield* scopedTempDir("umbra-upgrade-")
      // What `umbra serve` ran before: nats.conf, anonymous, the store in <dataDir>/nats.
      yield* Effect.scoped(
        Effect.gen(function* () {
          const old = yield* natsServer({ storeDir: join(dataDir, "nats") })
          yield* Effect.promise(async () => {
            const nc = await connect({ servers: old.url })
            await (await jetstreamManager(nc)).streams.add({ name: streamNames.events, subjects: ["umbra.evt.>"] })
            await jetstream(nc).publish("umbra.evt.acme.client.c1", "{}")
            await nc.close()
          })
        })
      )
      const { url } = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
      const creds = yield* readUmbraCreds(dataDir)
      const messages = yield* Effect.promise(async () => {
        const nc = await connect({ servers: url, authenticator: credsAuthenticator(creds) })
        const info = await (await jetstreamManager(nc)).streams.info(streamNames.events)
        await nc.close()
        return info.state.messages
      })
      assert.strictEqual(messages, 1)
    }).pipe(Effect.scoped), 60_000)
})
