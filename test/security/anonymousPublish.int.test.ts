import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, natsServer } from "../../infra/nats/natsServerProcess.ts"
import { anonymousMayPublish, embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { scopedTempDir } from "./scopedTempDir.ts"

const tempDir = scopedTempDir("umbra-anonymous-")

// What `umbra serve` with NATS_URL warns about: anonymous connections that may publish commands.
describe("the anonymous-publish check on a NATS_URL server", () => {
  it.live("finds that an anonymous server lets anyone publish commands", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const server = yield* natsServer({ storeDir: join(dir, "store") })
      assert.isTrue(yield* anonymousMayPublish(server.url))
    }).pipe(Effect.scoped))

  it.live("finds that an anonymous user without command permissions cannot", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      writeFileSync(
        join(dir, "nats.conf"),
        `authorization { users: [{ user: guest, password: guest, permissions: { publish: { deny: ["umbra.cmd.>"] } } }] }\nno_auth_user: guest\n`
      )
      const server = yield* natsServer({ storeDir: join(dir, "store"), configFile: join(dir, "nats.conf") })
      assert.isFalse(yield* anonymousMayPublish(server.url))
    }).pipe(Effect.scoped))

  it.live("finds that Umbra's own server refuses anonymous connections", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const endpoint = yield* embeddedNats(dir, yield* Effect.promise(() => freePort()))
      assert.isFalse(yield* anonymousMayPublish(endpoint.url))
    }).pipe(Effect.scoped))
})
