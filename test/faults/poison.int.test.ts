import { assert, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { Effect, Layer, Logger, Ref, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { parseStreamName, streamName } from "../../domain/streams.ts"
import { subjects } from "../../domain/subjects.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { listDeadLetters } from "../../infra/nats/deadLetters.ts"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { DeadLetters } from "../../src/deadLetters.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { archiverReader } from "../../src/telemetry/archiver.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { type Audit, audit, readEventLog } from "../nats/eventLogAudit.ts"
import { controlPlaneTestLayer, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { recordInstance } from "../support/recordedInstances.ts"
import { publishStored } from "../support/publishStored.ts"

const tenant = "acme"
const instanceId = "shd-poison"
const clients = 32
/** The connect saga's durable consumer: the only one of UMBRA_EVENTS with the orchestrator off. */
const sagaConsumer = "saga-connect-client"

interface DropLine {
  readonly reader: string
  readonly dropped: number
  readonly untimely: number
}

/**
 * The control plane's `dropped signals` lines (signal decoding's count per batch, by reader): the only place a
 * running control plane reports the signals its archiver and ingest dropped.
 */
const captureDrops = () => {
  const lines: Array<DropLine> = []
  const logger = Logger.make(({ message }) => {
    const [text, fields] = Array.isArray(message) ? message : [message]
    if (text === "dropped signals" && typeof fields === "object" && fields !== null) lines.push(fields as DropLine)
  })
  const sum = (reader: string, field: "dropped" | "untimely") =>
    lines.filter((line) => line.reader === reader).reduce((total, line) => total + line[field], 0)
  return { sum, layer: Logger.layer([logger], { mergeWithExisting: true }) }
}
const drops = captureDrops()

const now = () => new Date().toISOString()
const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString()
const hb = (seq: number) => JSON.stringify({ instanceId, seq, at: now(), ready: true })
/** Good samples are told apart by their cpu. */
const tm = (cpu: number, extra: Record<string, unknown> = {}) => JSON.stringify({ instanceId, at: now(), cpu, memBytes: 1024, ...extra })

/** A signal that must be archived and ingested, or parked by the archiver, or dropped for its time. */
interface SignalCase {
  readonly subject: string
  readonly body: () => string
  readonly fate: "parked" | "untimely"
}
const hbSubject = subjects.signal(tenant, instanceId, "hb")
const tmSubject = subjects.signal(tenant, instanceId, "tm")
const hostileSignals: ReadonlyArray<SignalCase> = [
  { subject: tmSubject, body: () => "not json", fate: "parked" },
  { subject: hbSubject, body: () => "{", fate: "parked" },
  { subject: tmSubject, body: () => JSON.stringify({ instanceId, at: "not a date", cpu: 1, memBytes: 1 }), fate: "parked" },
  { subject: hbSubject, body: () => JSON.stringify({ instanceId, seq: 1, at: "not a date", ready: true }), fate: "parked" },
  // Raw JSON text: JSON.parse reads 1e999 as Infinity.
  { subject: tmSubject, body: () => `{"instanceId":"${instanceId}","at":"${now()}","cpu":1e999,"memBytes":1}`, fate: "parked" },
  { subject: tmSubject, body: () => tm(-1), fate: "parked" },
  { subject: tmSubject, body: () => `{"instanceId":"${instanceId}","at":"${now()}","cpu":1,"memBytes":1e20}`, fate: "parked" },
  { subject: hbSubject, body: () => JSON.stringify({ instanceId, seq: -1, at: now(), ready: true }), fate: "parked" },
  { subject: hbSubject, body: () => `{"instanceId":"${instanceId}","seq":1e999,"at":"${now()}","ready":true}`, fate: "parked" },
  { subject: tmSubject, body: () => tm(1, { metrics: Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`m${i}`, i])) }), fate: "parked" },
  { subject: tmSubject, body: () => tm(1, { clientId: "c".repeat(300) }), fate: "parked" },
  { subject: tmSubject, body: () => JSON.stringify({ instanceId: "shd-other", at: now(), cpu: 1, memBytes: 1 }), fate: "parked" },
  { subject: hbSubject, body: () => JSON.stringify({ instanceId: "shd-other", seq: 1, at: now(), ready: true }), fate: "parked" },
  { subject: subjects.signal("t".repeat(300), instanceId, "tm"), body: () => tm(1), fate: "parked" },
  { subject: tmSubject, body: () => JSON.stringify({ instanceId, at: minutes(-120), cpu: 1, memBytes: 1 }), fate: "untimely" },
  { subject: hbSubject, body: () => JSON.stringify({ instanceId, seq: 1, at: minutes(365 * 24 * 60), ready: true }), fate: "untimely" }
]

/** What sits on UMBRA_EVENTS beside the relay's publishes: each must be parked by the saga's consumer, never acted on. */
const hostileEvents: ReadonlyArray<(clientId: string) => string> = [
  () => "not an event",
  () => "",
  () => JSON.stringify({ id: "x" }),
  () => "[1,2,3]",
  // Envelopes of a ClientConnected that a saga would act on, but whose stream or tenant is not their subject's.
  (clientId) => forgedConnect(clientId, { stream: `client-${tenant}.someone-else` }),
  (clientId) => forgedConnect(clientId, { stream: `client-evil.${clientId}` }),
  (clientId) => forgedConnect(clientId, { stream: `profile-${tenant}.${clientId}` }),
  (clientId) => forgedConnect(clientId, { tenant: "evil" })
]
const forgedConnect = (clientId: string, override: { readonly stream?: string; readonly tenant?: string }) =>
  JSON.stringify({
    id: randomUUID(),
    type: "ClientConnected",
    stream: `client-${tenant}.${clientId}`,
    revision: 0,
    position: "00000000000000000001",
    at: now(),
    tenant,
    correlationId: randomUUID(),
    causationId: randomUUID(),
    schemaVersion: 1,
    data: { clientId, tier: "basic" },
    ...override
  })

/** The store's decisions: what the relay has to put on UMBRA_EVENTS (observations stay on UMBRA_SIGNALS). */
const decisions = EventStore.use((store) => store.readAll()).pipe(
  Effect.map((events) => events.filter((event) => !["heartbeat", "telemetry"].includes(parseStreamName(event.stream)?.category ?? "")))
)

const consumerSettled = (durable: string) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const info = yield* Effect.promise(async () => (await jetstreamManager(nc)).consumers.info(streamNames.events, durable))
    return info.num_pending === 0 && info.num_ack_pending === 0
  })

const poisonLayer = controlPlaneTestLayer.pipe(Layer.provide(drops.layer))

layer(poisonLayer, { excludeTestServices: true, timeout: "90 seconds" })("fault: poison", (it) => {
  it.effect("hostile signals and undecodable bus messages among good ones: every good one is archived, ingested and acted on, every bad one parked or dropped and counted", () =>
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const store = yield* EventStore
      const publish = (subject: string, body: string) => Effect.promise(() => publishStored(nc, subject, body))
      yield* recordInstance(tenant, instanceId, "c0")

      let acked = 0
      const goodBeats: Array<number> = []
      const goodCpus: Array<number> = []
      const parkedSignals: Array<number> = []
      const poisonEvents: Array<number> = []
      const publishGood = (i: number) =>
        Effect.gen(function* () {
          yield* publish(hbSubject, hb(i))
          goodBeats.push(i)
          // A 300-character tenant in the body means nothing: the subject names the tenant.
          yield* publish(tmSubject, tm(i / 100, i === 3 ? { tenant: "t".repeat(300) } : {}))
          goodCpus.push(i / 100)
        })
      const connect = (clientId: string) =>
        send(tenant, "ConnectClient", { clientId, tier: "basic" }).pipe(Effect.map((reply) => assert.isTrue(reply.ok, JSON.stringify(reply))))

      for (let i = 0; i < clients; i++) {
        yield* connect(`c${i}`)
        acked++
        // On the subject of a client whose events the relay is publishing, or has just published.
        const clientSubject = subjects.event({ stream: streamName("client", tenant, `c${i}`), tenant })
        poisonEvents.push(yield* publish(clientSubject, hostileEvents[i % hostileEvents.length]!(`c${i}`)))
        yield* publishGood(i)
        const hostile = i % 2 === 0 ? hostileSignals[i / 2] : undefined
        if (hostile !== undefined) {
          const seq = yield* publish(hostile.subject, hostile.body())
          if (hostile.fate === "parked") parkedSignals.push(seq)
        }
      }
      // After every bad one: still archived, ingested and acted on.
      yield* publishGood(clients)
      yield* connect(`c${clients}`)
      acked++
      const untimely = hostileSignals.filter((one) => one.fate === "untimely").length
      const badTelemetry = hostileSignals.filter((one) => one.subject.endsWith(".tm")).length

      // Signals: every good one archived once, every undecodable one parked by the archiver.
      const archivedData = Effect.all([store.readStream(`heartbeat-${tenant}.${instanceId}`), store.readStream(`telemetry-${tenant}.${instanceId}`)]).pipe(
        Effect.map(([beats, samples]) => ({
          beats: beats.map((event) => (event.data as { readonly seq: number }).seq),
          samples: samples.map((event) => event.data as { readonly cpu: number; readonly tenant?: string })
        }))
      )
      yield* eventually(archivedData.pipe(Effect.map(({ beats, samples }) => beats.length >= goodBeats.length && samples.length >= goodCpus.length)), 30_000, "every good signal archived")
      const { beats, samples } = yield* archivedData
      assert.sameMembers(beats, goodBeats)
      assert.sameMembers(samples.map((sample) => sample.cpu), goodCpus)
      assert.isTrue(samples.every((sample) => sample.tenant === undefined), "what the body says of its tenant is not archived")

      const letters = (consumer: string) => listDeadLetters(nc, consumer, 500)
      yield* eventually(letters(archiverReader).pipe(Effect.map((all) => all.length >= parkedSignals.length)), 30_000, "every undecodable signal parked")
      const signalLetters = yield* letters(archiverReader)
      assert.sameMembers(signalLetters.map((letter) => letter.streamSeq), parkedSignals)
      assert.isTrue(signalLetters.every((letter) => letter.stream === streamNames.signals && letter.reason.startsWith("Undecodable: ")))

      // Ingested: the read model counts each good sample once, for the instance and for its recorded client.
      const telemetry = yield* TelemetryReadModel
      const ingested = (scope: "instance" | "client", key: string) =>
        telemetry.series({ scope, key: tenantKey(tenant, key), metric: "cpu", size: "5m" }).pipe(
          Effect.map((buckets) => buckets.reduce((total, bucket) => total + bucket.count, 0))
        )
      yield* eventually(ingested("instance", instanceId).pipe(Effect.map((n) => n >= goodCpus.length)), 30_000, "every good sample ingested")
      yield* eventually(Effect.sync(() => drops.sum("telemetry", "dropped") >= badTelemetry), 10_000, "every bad sample dropped by the ingest")
      const ingestedSamples = yield* ingested("instance", instanceId)
      assert.strictEqual(ingestedSamples, goodCpus.length)
      assert.strictEqual(yield* ingested("client", "c0"), goodCpus.length)
      assert.strictEqual(drops.sum("telemetry", "dropped"), badTelemetry)
      assert.strictEqual(drops.sum(archiverReader, "untimely"), untimely)
      assert.strictEqual(drops.sum(archiverReader, "dropped"), parkedSignals.length + untimely)

      // Events: every client's profile created once by the saga; every hostile message parked by its consumer.
      const profilesCreated = store.readAll().pipe(Effect.map((events) => events.filter((event) => event.type === "ProfileCreated")))
      yield* eventually(profilesCreated.pipe(Effect.map((created) => created.length >= clients + 1)), 30_000, "a profile for every client")
      yield* eventually(letters(sagaConsumer).pipe(Effect.map((all) => all.length >= poisonEvents.length)), 30_000, "every hostile event parked")
      yield* eventually(consumerSettled(sagaConsumer), 10_000, "the saga's consumer settled")
      const created = yield* profilesCreated
      assert.sameMembers(created.map((event) => event.stream), Array.from({ length: clients + 1 }, (_, i) => `profile-${tenant}.c${i}`))
      const eventLetters = yield* letters(sagaConsumer)
      assert.sameMembers(eventLetters.map((letter) => letter.streamSeq), poisonEvents)
      assert.isTrue(eventLetters.every((letter) => letter.reason.startsWith("Undecodable: ")), JSON.stringify(eventLetters.map((letter) => letter.reason)))
      assert.isFalse((yield* store.readAll()).some((event) => event.tenant !== tenant), "a forged envelope acted for no other tenant")
      const parked = yield* (yield* DeadLetters).parked
      assert.deepStrictEqual(Object.fromEntries(parked), { [archiverReader]: parkedSignals.length, [sagaConsumer]: poisonEvents.length })

      // The poison lives on in UMBRA_DLQ; without it UMBRA_EVENTS holds the relay's publishes, which the audit holds against the store.
      const jsm = yield* Effect.promise(() => jetstreamManager(nc))
      for (const seq of poisonEvents) yield* Effect.promise(() => jsm.streams.deleteMessage(streamNames.events, seq))
      const last = yield* Ref.make<{ readonly stored: number; readonly logged: number; readonly audit: Audit } | undefined>(undefined)
      const clean = Effect.gen(function* () {
        const stored = yield* decisions
        const logged = yield* readEventLog
        const result = audit(stored, logged)
        yield* Ref.set(last, { stored: stored.length, logged: logged.length, audit: result })
        return stored.length === logged.length && Object.values(result).every((n) => n === 0)
      })
      // Polled without failing, so that the summary is printed whatever it says.
      yield* clean.pipe(
        Effect.orElseSucceed(() => false),
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (ok) => ok }),
        Effect.timeoutOrElse({ duration: 30_000, orElse: () => Effect.succeed(false) })
      )
      const final = (yield* Ref.get(last))!
      const { duplicates, lost, outOfOrder, orphans } = final.audit
      console.log(
        `poison: commands acked ${acked}, events in store ${final.stored}, on JetStream ${final.logged}, ` +
          `duplicates ${duplicates}, lost ${lost}, out of order ${outOfOrder}, orphans ${orphans}, ` +
          `bus poison ${poisonEvents.length} parked ${parked.get(sagaConsumer) ?? 0}, ` +
          `signals good ${goodBeats.length + goodCpus.length} archived ${beats.length + samples.length} ingested ${ingestedSamples}, ` +
          `bad ${hostileSignals.length} parked ${parked.get(archiverReader) ?? 0} dropped ${drops.sum(archiverReader, "untimely")}`
      )
      assert.deepStrictEqual({ duplicates, lost, outOfOrder, orphans }, { duplicates: 0, lost: 0, outOfOrder: 0, orphans: 0 })
      assert.strictEqual(final.logged, final.stored)
    }))
})
