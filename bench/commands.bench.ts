/**
 * End to end commands: 64 concurrent senders, `umbra.cmd` request to reply, through the whole control
 * plane (gateway, SQLite store, relay, sagas), next to a bare NATS request/reply service whose handler
 * makes one SQLite insert, in the same run (a round before the control plane and one after, averaged). Each
 * side has a round first that is not counted, so that both are measured with their code compiled, as a
 * control plane that runs for months is; the control plane's first round, on a fresh start, is in the notes.
 */
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openEventDatabase } from "../infra/eventStore/sqliteSchema.ts"
import { controlPlaneLayer, startControlPlane } from "../infra/serve/controlPlane.ts"
import { EventStore } from "../src/eventStore/eventStore.ts"
import { startTestNatsServer } from "../test/harness/natsServer.ts"
import { testConfig } from "../test/support/controlPlane.ts"
import { runQuiet } from "./runQuiet.ts"
import { type Benchmark, result } from "./benchmark.ts"
import { type LoadResult, requestLoad } from "./natsLoad.ts"

const senders = 64
const maxCount = 6_000
const maxMillis = 15_000
const sagaCatchUpMillis = 120_000
const encoder = new TextEncoder()

/** The bare service: each request one SQLite insert in its own transaction, committed at `synchronous`. */
const rawEcho = async (url: string, dir: string, synchronous: "FULL" | "NORMAL") => {
  const db = openEventDatabase(join(dir, `raw-${synchronous}.db`), 5_000, synchronous)
  const insert = db.prepare(
    "INSERT INTO events (id, stream, revision, type, data, at, tenant, correlation_id, causation_id, schema_version)" +
      " VALUES (?, ?, 0, 'ClientConnected', ?, ?, 'acme', ?, ?, 1)"
  )
  const server = await connect({ servers: url })
  const client = await connect({ servers: url })
  const sub = server.subscribe("bench.echo", { queue: "bench" })
  void (async () => {
    for await (const msg of sub) {
      const body = msg.string()
      const id = randomUUID()
      insert.run(id, `client-acme.${id}`, body, new Date().toISOString(), id, id)
      msg.respond(msg.data)
    }
  })()
  await server.flush()
  try {
    return await requestLoad(client, {
      subject: () => "bench.echo",
      body: (i) => encoder.encode(JSON.stringify({ clientId: `c${i}`, tier: "basic" })),
      senders,
      maxCount,
      maxMillis
    })
  } finally {
    await client.drain()
    await server.drain()
    db.close()
  }
}

const isOk = (reply: Uint8Array) => new TextDecoder().decode(reply).startsWith('{"ok":true')
const command = (data: unknown) => encoder.encode(JSON.stringify({ commandId: randomUUID(), data }))

/**
 * Loads on one control plane: ConnectClient (one event, then the connect saga adds two more in the
 * background), first uncounted for clients of their own and then measured once the saga has caught up with
 * them, and RefineProfile on the measured round's clients (one event, nothing downstream).
 */
const umbraCommands = (url: string, dir: string) =>
  runQuiet(
    Effect.gen(function* () {
      yield* startControlPlane(testConfig(dir, url))
      const store = yield* EventStore
      // The connect saga creates each profile after the reply: refinements wait until it has caught up.
      const profilesCreated = async (prefix: string, clients: number) => {
        const start = performance.now()
        let next = 0
        while (next < clients && performance.now() - start < sagaCatchUpMillis) {
          const found = await Effect.runPromise(store.readStream(`profile-acme.${prefix}${next}`, { limit: 1 }).pipe(Effect.orDie))
          if (found.length > 0) next++
          else await new Promise((resolve) => setTimeout(resolve, 20))
        }
        return { millis: performance.now() - start, created: next }
      }
      return yield* Effect.promise(async () => {
        const client = await connect({ servers: url })
        const connectLoad = (prefix: string) =>
          requestLoad(client, {
            subject: () => "umbra.cmd.acme.ConnectClient",
            body: (i) => command({ clientId: `${prefix}${i}`, tier: "basic" }),
            senders,
            maxCount,
            maxMillis,
            ok: isOk
          })
        try {
          const firstLoad = await connectLoad("w")
          await profilesCreated("w", firstLoad.count)
          const measuredLoad = await connectLoad("c")
          const clients = measuredLoad.count
          const sagaCatchUp = await profilesCreated("c", clients)
          const refineLoad = await requestLoad(client, {
            subject: () => "umbra.cmd.acme.RefineProfile",
            body: (i) => command({ clientId: `c${i % clients}`, expected: { cpuMillis: 600 + i }, reason: "bench" }),
            senders,
            maxCount,
            maxMillis,
            ok: isOk
          })
          return { firstLoad, connectLoad: measuredLoad, refineLoad, sagaCatchUp }
        } finally {
          await client.drain()
        }
      })
    }).pipe(Effect.scoped, Effect.provide(controlPlaneLayer(testConfig(dir, url), url)))
  )

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "commands.e2e",
    run: async () => {
      const nats = await startTestNatsServer()
      const dir = mkdtempSync(join(tmpdir(), "umbra-bench-"))
      try {
        // The baseline commits as durably as the store (FULL); the ratio against NORMAL is in the notes.
        await rawEcho(nats.url, mkdtempSync(join(dir, "warm-")), "FULL")
        const rawBefore = await rawEcho(nats.url, mkdtempSync(join(dir, "before-")), "FULL")
        const rawNormal = await rawEcho(nats.url, dir, "NORMAL")
        const umbra = await umbraCommands(nats.url, join(dir, "umbra"))
        // A raw round before and after, so that a machine whose speed drifts weighs on both alike.
        const rawAfter = await rawEcho(nats.url, mkdtempSync(join(dir, "after-")), "FULL")
        const raw = { perSecond: (rawBefore.perSecond + rawAfter.perSecond) / 2 }
        const ms = (n: number) => n.toFixed(2)
        const rawNotes =
          `raw echo + 1 SQLite insert (FULL), the mean of a round before (${Math.round(rawBefore.perSecond)}/s) and one after (${Math.round(rawAfter.perSecond)}/s), ` +
          `p50/p99 ${ms(rawBefore.p50Ms)}/${ms(rawBefore.p99Ms)} and ${ms(rawAfter.p50Ms)}/${ms(rawAfter.p99Ms)} ms`
        const row = (name: string, what: string, load: LoadResult) =>
          result(
            name,
            "commands/s",
            load.perSecond,
            raw.perSecond,
            `${senders} senders, ${load.count} ${what} (${load.failed} failed); p50/p99 ${ms(load.p50Ms)}/${ms(load.p99Ms)} ms; ${rawNotes}; ` +
              `against the raw echo at NORMAL (${Math.round(rawNormal.perSecond)}/s): ${(load.perSecond / rawNormal.perSecond).toFixed(2)}`
          )
        return [
          row(
            "commands.e2e.connect",
            `ConnectClient (+ saga: 2 more events each; ${umbra.sagaCatchUp.created} profiles created ${Math.round(umbra.sagaCatchUp.millis)} ms after the last reply; ` +
              `the uncounted first round on the fresh control plane ${Math.round(umbra.firstLoad.perSecond)}/s, ${(umbra.firstLoad.perSecond / raw.perSecond).toFixed(2)} of the baseline, p50/p99 ${ms(umbra.firstLoad.p50Ms)}/${ms(umbra.firstLoad.p99Ms)} ms)`,
            umbra.connectLoad
          ),
          row("commands.e2e.refine", "RefineProfile (1 event each)", umbra.refineLoad)
        ]
      } finally {
        await nats.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
]
