import type { Msg, NatsConnection as CoreConnection } from "@nats-io/transport-node"
import { Clock, Deferred, Effect, Queue, Ref, Schedule, Schema, Stream } from "effect"
import { ControlReplyJson, ControlRequestJson, type ControlReply } from "../../domain/control.ts"
import type { ClientId } from "../../domain/ids.ts"
import { DependencyReport, Heartbeat, maxMetrics, TelemetrySample } from "../../domain/signals.ts"
import { subjects } from "../../domain/subjects.ts"
import { NatsConnection } from "../nats/connection.ts"
import type { AgentConfig } from "./agentConfig.ts"
import { timeEchoes } from "./heartbeatRoundTrip.ts"
import { scanDependencies } from "./dependencyScan.ts"
import { preloadFiles } from "./preload.ts"
import { coresBetween, detectUsageSource, readUsage } from "./cgroupUsage.ts"
import { probeReady, probeSchedule, trackReadiness } from "./readiness.ts"
import { inventory, scrub, settle } from "./stateInventory.ts"
import { readWorkloadMetrics } from "./workloadMetrics.ts"
import { superviseWorkload } from "./workloadProcess.ts"

const encodeHeartbeat = Schema.encodeSync(Schema.fromJsonString(Heartbeat))
const encodeTelemetry = Schema.encodeSync(Schema.fromJsonString(TelemetrySample))
const encodeReport = Schema.encodeSync(Schema.fromJsonString(DependencyReport))
const encodeReply = Schema.encodeSync(ControlReplyJson)

const isoNow = Clock.currentTimeMillis.pipe(Effect.map((millis) => new Date(millis).toISOString()))

/**
 * Core publish, not `js.publish`: a signal is an observation superseded by the next one within seconds, so
 * waiting for a JetStream ack would only stall the loop while NATS is away. The stream still stores it
 * (UMBRA_SIGNALS captures `umbra.sig.>`), and the client buffers publishes while it reconnects.
 */
const publish = (nc: CoreConnection, subject: string, body: string) =>
  Effect.try(() => nc.publish(subject, body)).pipe(
    Effect.catch((cause) => Effect.logWarning("signal not published").pipe(Effect.annotateLogs({ subject, error: String(cause) })))
  )

const withClient = (clientId: ClientId | undefined) => (clientId === undefined ? {} : { clientId })

/** The workload's metrics with the heartbeat's round trip added, unless the workload names it itself or has no room left. */
const withRoundTrip = (metrics: Record<string, number> | undefined, rttMs: number | undefined) => {
  if (rttMs === undefined) return metrics
  const own = metrics ?? {}
  return "heartbeatRttMs" in own || Object.keys(own).length >= maxMetrics ? metrics : { ...own, heartbeatRttMs: rttMs }
}

/** What control requests may change in the running agent. */
interface ControlActions {
  readonly markDraining: Effect.Effect<void>
  /** Serves another client: the sequence number of the first heartbeat that speaks for its workload, and whether it is ready now. */
  readonly assign: (clientId: ClientId) => Effect.Effect<{ readonly readyFromSeq: number; readonly ready: boolean }>
  /** Empties the state and scratch paths for the pool: the last client's workload stopped first, one for no client started after. */
  readonly recycle: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<{ readonly removedFiles: number; readonly bytes: number }>>
}

const answer = (request: Msg, paths: ReadonlyArray<string>, scratch: ReadonlyArray<string>, actions: ControlActions) =>
  Schema.decodeUnknownEffect(ControlRequestJson)(request.string()).pipe(
    Effect.flatMap((decoded): Effect.Effect<ControlReply> => {
      switch (decoded.op) {
        case "statePaths":
          return Effect.forEach(paths, inventory).pipe(Effect.map((found) => ({
            ok: true as const,
            op: "statePaths" as const,
            paths: found.map(({ path, exists, files, bytes }) => ({ path, exists, files: files.length, bytes }))
          })))
        case "prepareTransfer":
          return settle(paths).pipe(Effect.map(({ settled, paths: found }) => ({
            ok: true as const,
            op: "prepareTransfer" as const,
            settled,
            files: found.reduce((sum, path) => sum + path.files.length, 0),
            bytes: found.reduce((sum, path) => sum + path.bytes, 0),
            paths: found.map(({ path, files, bytes }) => ({ path, files, bytes }))
          })))
        case "drain":
          return actions.markDraining.pipe(Effect.as({ ok: true as const, op: "drain" as const, ready: false as const }))
        case "assign":
          return decoded.clientId === undefined
            ? Effect.succeed<ControlReply>({ ok: false, error: { tag: "ValidationFailed", message: "assign needs a clientId" } })
            : actions.assign(decoded.clientId).pipe(Effect.map(({ readyFromSeq, ready }) => ({
              ok: true as const,
              op: "assign" as const,
              clientId: decoded.clientId!,
              readyFromSeq,
              ready
            })))
        case "scrub":
          // The scratch space too: what the last client's workload left in /tmp is no next client's.
          return actions.recycle([...paths, ...scratch]).pipe(
            Effect.map((removed) => ({
              ok: true as const,
              op: "scrub" as const,
              removedFiles: removed.reduce((sum, r) => sum + r.removedFiles, 0),
              bytes: removed.reduce((sum, r) => sum + r.bytes, 0)
            }))
          )
      }
    }),
    Effect.catchTag("SchemaError", (error) =>
      Effect.succeed<ControlReply>({ ok: false, error: { tag: "ValidationFailed", message: error.message } })),
    Effect.flatMap((reply) => Effect.try(() => request.respond(encodeReply(reply)))),
    Effect.catch((cause) => Effect.logWarning("control reply failed").pipe(Effect.annotateLogs({ error: String(cause) })))
  )

/**
 * The agent inside an instance: heartbeats and telemetry on `umbra.sig.<tenant>.<id>.{hb,tm}`, control
 * requests on `umbra.ctl.<tenant>.<id>`, and the workload as a supervised child when one is configured.
 * Runs until interrupted (SIGTERM: drain, stop the workload, close NATS) or until the workload exits, whose
 * exit code it returns.
 */
export const runAgent = Effect.fn("Agent.run")(function* (config: AgentConfig) {
  const nc = yield* NatsConnection
  const { tenant, instanceId } = config
  const draining = yield* Ref.make(false)
  const client = yield* Ref.make(config.clientId)
  const seq = yield* Ref.make(0)
  const roundTrip = yield* timeEchoes(nc, subjects.heartbeatEcho(tenant, instanceId))

  if (config.preloadFiles.length > 0 && config.workload !== undefined) {
    yield* Effect.logInfo("preloaded the workload's dependencies", yield* preloadFiles(config.preloadFiles))
  }
  const workload = config.workload === undefined ? undefined : yield* superviseWorkload(config.workload)
  // A workload that turns ready is said at once, not at the next beat: the control plane waits on it.
  const turnedReady = yield* Queue.sliding<void>(1)
  const readiness = yield* trackReadiness(probeReady(config.readyUrl), probeSchedule(config.heartbeatMs), Queue.offer(turnedReady, undefined).pipe(Effect.asVoid))

  const heartbeat = Effect.gen(function* () {
    // Numbered before it reads the readiness: a beat numbered after an assign knows of the workload it restarted.
    const n = yield* Ref.getAndUpdate(seq, (value) => value + 1)
    const { ready, warming } = yield* readiness.current
    const at = yield* isoNow
    const rttMs = yield* roundTrip.lastMs
    yield* roundTrip.sent(n)
    const body: Heartbeat = { instanceId, seq: n, at, ready: ready && !(yield* Ref.get(draining)), warming, ...(rttMs === undefined ? {} : { rttMs }) }
    yield* publish(nc, subjects.signal(tenant, instanceId, "hb"), encodeHeartbeat(body))
  })
  // Fixed, not spaced: a beat that waited for the CPU does not push back the ones after it.
  yield* heartbeat.pipe(Effect.repeat(Schedule.fixed(config.heartbeatMs)), Effect.forkScoped)
  yield* Queue.take(turnedReady).pipe(Effect.andThen(heartbeat), Effect.forever, Effect.forkScoped)

  // What the workload loaded while it warmed up, once per start, when it is first ready: the profile learns its dependencies.
  const reported = yield* Ref.make(false)
  const reportDependencies = Effect.gen(function* () {
    if (workload === undefined || (yield* Ref.get(reported)) || !(yield* readiness.current).ready) return
    yield* Ref.set(reported, true)
    const files = yield* scanDependencies(yield* workload.pid, config.statePaths, config.scratchPaths)
    yield* publish(nc, subjects.signal(tenant, instanceId, "dp"), encodeReport({ instanceId, at: yield* isoNow, files }))
    yield* Effect.logInfo("reported the workload's dependencies", { files: files.length })
  })
  yield* reportDependencies.pipe(Effect.repeat(Schedule.spaced(config.heartbeatMs)), Effect.forkScoped)

  const source = yield* detectUsageSource(config.usageSource)
  const last = yield* Ref.make(yield* readUsage(source))
  const sample = Effect.gen(function* () {
    const reading = yield* readUsage(source)
    const before = yield* Ref.getAndSet(last, reading)
    const metrics = withRoundTrip(yield* readWorkloadMetrics(config.metricsFile), yield* roundTrip.lastMs)
    const body: TelemetrySample = {
      instanceId,
      ...withClient(yield* Ref.get(client)),
      at: yield* isoNow,
      cpu: coresBetween(before, reading),
      memBytes: reading.memBytes,
      ...(metrics === undefined ? {} : { metrics })
    }
    yield* publish(nc, subjects.signal(tenant, instanceId, "tm"), encodeTelemetry(body))
  })
  yield* Effect.sleep(config.telemetryMs).pipe(Effect.andThen(sample), Effect.forever, Effect.forkScoped)

  const subscription = yield* Effect.acquireRelease(
    Effect.sync(() => nc.subscribe(subjects.control(tenant, instanceId))),
    (sub) => Effect.sync(() => sub.unsubscribe())
  )
  const markDraining = Ref.set(draining, true).pipe(Effect.andThen(Effect.logInfo("draining: heartbeats say not ready")))
  /** Whether the workload running now was started in the pool and has served no client yet. */
  const startedForPool = yield* Ref.make(false)
  yield* Stream.fromAsyncIterable(subscription, (cause) => cause).pipe(
    Stream.runForEach((request) =>
      answer(request, config.statePaths, config.scratchPaths, {
        markDraining,
        // The last client's workload stops before its state goes (running on in the pool, it would write there
        // again, and keep that client's data in memory); once the paths are empty, a run for no client starts on
        // the shared paths (never scrubbed: the agent knows only the state paths), so that a claim finds it warm.
        recycle: (paths) =>
          Effect.gen(function* () {
            if (workload !== undefined) yield* readiness.restarting(workload.stop)
            yield* Ref.set(client, undefined)
            const removed = yield* Effect.forEach(paths, scrub)
            if (workload !== undefined) {
              yield* readiness.restarting(workload.restart).pipe(
                Effect.andThen(Ref.set(startedForPool, true)),
                Effect.andThen(Effect.logInfo("workload started again for the pool")),
                Effect.catch((error) => Effect.logError("the workload did not start again for the pool", { message: error.message }))
              )
            }
            return removed
          }),
        // A claimed pooled shadow: a workload started for the pool serves its first client as it is; any other
        // run (one that served a client, or one that could not start) starts afresh for the new one.
        assign: (clientId) =>
          Effect.gen(function* () {
            yield* Ref.set(client, clientId)
            yield* Effect.logInfo("assigned to a client", { clientId })
            if (workload !== undefined && !(yield* Ref.getAndSet(startedForPool, false))) {
              yield* readiness.restarting(workload.restart).pipe(
                Effect.catch((error) => Effect.logError("the workload did not start again", { message: error.message }))
              )
            }
            yield* Ref.set(reported, false)
            return { readyFromSeq: yield* Ref.get(seq), ready: (yield* readiness.current).ready }
          })
      })
    ),
    Effect.ignore,
    Effect.forkScoped
  )

  // Runs first on shutdown (finalizers run in reverse): the last heartbeat says not ready, then it is flushed.
  yield* Effect.addFinalizer(() =>
    Ref.set(draining, true).pipe(
      Effect.andThen(heartbeat),
      Effect.andThen(Effect.tryPromise(() => nc.flush()).pipe(Effect.timeout("2 seconds"), Effect.ignore))
    )
  )
  yield* Effect.logInfo("agent started").pipe(
    Effect.annotateLogs({ tenant, instanceId, usage: source, workload: workload === undefined ? "none" : yield* workload.pid })
  )
  if (workload === undefined) return yield* Effect.never
  const code = yield* Deferred.await(workload.exited)
  yield* Effect.logWarning("workload exited").pipe(Effect.annotateLogs({ code }))
  return code
})
