/**
 * A wire-level stand-in for a KurrentDB node: the client's own gRPC stubs served over @grpc/grpc-js, so the
 * adapter runs its real client against it. It serves Streams.Append, Streams.Read (streams and `$all`, both
 * directions, counts, `$all` subscriptions with CaughtUp) and Operations.StartScavenge, and honours
 * `$maxAge`/`$maxCount` from `$$<stream>` on stream reads. It keeps time by the clock it is given (in tests the
 * Effect Clock, so a TestClock ages events), where a real server uses its own wall clock. What it leaves out
 * is listed in the README.
 */
import { randomUUID } from "node:crypto"
import * as grpc from "@grpc/grpc-js"
import operationsGrpc from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/operations_grpc_pb.js"
import operationsPb from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/operations_pb.js"
import sharedPb from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/shared_pb.js"
import streamsGrpc from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/streams_grpc_pb.js"
import streamsPb from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/streams_pb.js"
import { Clock, Effect } from "effect"

type ReadReq = InstanceType<typeof streamsPb.ReadReq>
type ReadResp = InstanceType<typeof streamsPb.ReadResp>
type AppendReq = InstanceType<typeof streamsPb.AppendReq>
type AppendResp = InstanceType<typeof streamsPb.AppendResp>
type ReadOptions = InstanceType<typeof streamsPb.ReadReq.Options>
type Uuid = InstanceType<typeof sharedPb.UUID>

interface LogRecord {
  readonly stream: string
  readonly revision: bigint
  readonly id: string
  readonly type: string
  readonly contentType: string
  readonly data: Uint8Array
  readonly customMetadata: Uint8Array
  readonly createdMs: number
  readonly position: bigint
}

type Proposed = Omit<LogRecord, "stream" | "revision" | "position" | "createdMs">

interface StreamState {
  last: bigint
  records: Array<LogRecord>
}

interface Retention {
  readonly maxAge?: number
  readonly maxCount?: number
}

type Live = (record: LogRecord) => void

const RevisionCase = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase
const AllCase = streamsPb.ReadReq.Options.AllOptions.AllOptionCase
const ExpectedCase = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase
const backwards = streamsPb.ReadReq.Options.ReadDirection.BACKWARDS

const u64 = (1n << 64n) - 1n

const uuidToString = (uuid: Uuid | undefined): string => {
  if (uuid === undefined) return randomUUID()
  const structured = uuid.getStructured()
  if (structured === undefined) return uuid.getString()
  const hex = (bits: string) => (BigInt(bits) & u64).toString(16).padStart(16, "0")
  const ms = hex(structured.getMostSignificantBits())
  const ls = hex(structured.getLeastSignificantBits())
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-${ms.slice(12)}-${ls.slice(0, 4)}-${ls.slice(4)}`
}

/** The id in the form the reader asked for: the Rust bridge asks for structured ids, the JS client for strings. */
const uuidFor = (id: string, structured: boolean): Uuid => {
  const uuid = new sharedPb.UUID()
  if (!structured) return uuid.setString(id)
  const hex = id.replaceAll("-", "")
  const bits = (part: string) => BigInt.asIntN(64, BigInt(`0x${part}`)).toString()
  return uuid.setStructured(
    new sharedPb.UUID.Structured().setMostSignificantBits(bits(hex.slice(0, 16))).setLeastSignificantBits(bits(hex.slice(16)))
  )
}

const identifier = (stream: string) => new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream, "utf8"))

const streamNameOf = (id: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string =>
  Buffer.from(id?.getStreamName_asU8() ?? new Uint8Array()).toString("utf8")

const eventResp = (record: LogRecord, structuredIds: boolean): ReadResp => {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidFor(record.id, structuredIds))
    .setStreamIdentifier(identifier(record.stream))
    .setStreamRevision(record.revision.toString())
    .setCommitPosition(record.position.toString())
    .setPreparePosition(record.position.toString())
    .setData(record.data)
    .setCustomMetadata(record.customMetadata)
  const metadata = recorded.getMetadataMap()
  metadata.set("type", record.type)
  metadata.set("content-type", record.contentType)
  metadata.set("created", (BigInt(record.createdMs) * 10_000n).toString())
  const event = new streamsPb.ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(record.position.toString())
  return new streamsPb.ReadResp().setEvent(event)
}

/** The `$all` filter of a read or subscription: a regex or prefixes, on the event type or the stream name. */
const filterOf = (options: ReadOptions): ((record: LogRecord) => boolean) => {
  const filter = options.getFilter()
  if (filter === undefined) return () => true
  const onType = filter.hasEventType()
  const expression = onType ? filter.getEventType() : filter.getStreamIdentifier()
  const regex = expression?.getRegex() ?? ""
  const prefixes = expression?.getPrefixList() ?? []
  const matcher = regex === "" ? undefined : new RegExp(regex)
  return (record) => {
    const subject = onType ? record.type : record.stream
    if (matcher !== undefined && !matcher.test(subject)) return false
    return prefixes.length === 0 || prefixes.some((prefix) => subject.startsWith(prefix))
  }
}

export class KurrentStandIn {
  private readonly log: Array<LogRecord> = []
  private readonly streams = new Map<string, StreamState>()
  private readonly live = new Set<Live>()
  // Positions grow by a record's size, like the server's byte offsets: they are ordered, not consecutive.
  private nextPosition = 128n

  private readonly server: grpc.Server
  private readonly now: () => number
  readonly port: number

  private constructor(server: grpc.Server, port: number, now: () => number) {
    this.server = server
    this.port = port
    this.now = now
  }

  /** The connection string the client takes for this node. */
  get connectionString(): string {
    return `kurrentdb://127.0.0.1:${this.port}?tls=false`
  }

  /** `now` is the node's wall clock in milliseconds: when events are created, and how old they are. */
  static async start(now: () => number = Date.now): Promise<KurrentStandIn> {
    const server = new grpc.Server()
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error)
      )
    )
    const standIn = new KurrentStandIn(server, port, now)
    server.addService(streamsGrpc.StreamsService, {
      append: (call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>) =>
        standIn.serveAppend(call, callback),
      read: (call: grpc.ServerWritableStream<ReadReq, ReadResp>) => standIn.serveRead(call)
    })
    server.addService(operationsGrpc.OperationsService, {
      startScavenge: (
        _call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<InstanceType<typeof operationsPb.ScavengeResp>>
      ) => callback(null, standIn.scavenge())
    })
    return standIn
  }

  /** An Effect resource: the stand-in runs while the scope is open, on the Clock of the effect that starts it. */
  static readonly scoped = Effect.acquireRelease(
    Clock.clockWith((clock) => Effect.promise(() => KurrentStandIn.start(() => clock.currentTimeMillisUnsafe()))),
    (standIn) => Effect.promise(() => standIn.stop())
  )

  stop(): Promise<void> {
    this.live.clear()
    this.server.forceShutdown()
    return Promise.resolve()
  }

  private write(stream: string, records: ReadonlyArray<Proposed>) {
    const state = this.streams.get(stream) ?? { last: -1n, records: [] }
    this.streams.set(stream, state)
    const now = this.now()
    const written: Array<LogRecord> = []
    for (const proposed of records) {
      state.last += 1n
      const record: LogRecord = { ...proposed, stream, revision: state.last, position: this.nextPosition, createdMs: now }
      this.nextPosition += BigInt(64 + record.data.length + record.customMetadata.length)
      state.records.push(record)
      this.log.push(record)
      written.push(record)
    }
    for (const record of written) for (const listener of this.live) listener(record)
    return written
  }

  private serveAppend(call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>) {
    let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined
    const proposed: Array<Proposed> = []
    call.on("data", (req: AppendReq) => {
      if (req.hasOptions()) options = req.getOptions()
      const message = req.getProposedMessage()
      if (message === undefined) return
      const metadata = message.getMetadataMap()
      proposed.push({
        id: uuidToString(message.getId()),
        type: metadata.get("type") ?? "",
        contentType: metadata.get("content-type") ?? "application/octet-stream",
        data: message.getData_asU8(),
        customMetadata: message.getCustomMetadata_asU8()
      })
    })
    call.on("end", () => {
      if (options === undefined) return callback({ code: grpc.status.INVALID_ARGUMENT, details: "no append options" })
      const stream = streamNameOf(options.getStreamIdentifier())
      const current = this.streams.get(stream)?.last
      const exists = current !== undefined && current >= 0n
      const expectedCase = options.getExpectedStreamRevisionCase()
      const ok =
        expectedCase === ExpectedCase.NO_STREAM ? !exists
        : expectedCase === ExpectedCase.STREAM_EXISTS ? exists
        : expectedCase === ExpectedCase.REVISION ? exists && current === BigInt(options.getRevision())
        : true
      const resp = new streamsPb.AppendResp()
      if (!ok) {
        const wrong = new streamsPb.AppendResp.WrongExpectedVersion()
        if (exists) wrong.setCurrentRevision(current.toString())
        else wrong.setCurrentNoStream(new sharedPb.Empty())
        if (expectedCase === ExpectedCase.NO_STREAM) wrong.setExpectedNoStream(new sharedPb.Empty())
        else if (expectedCase === ExpectedCase.STREAM_EXISTS) wrong.setExpectedStreamExists(new sharedPb.Empty())
        else wrong.setExpectedRevision(options.getRevision())
        return callback(null, resp.setWrongExpectedVersion(wrong))
      }
      const written = this.write(stream, proposed)
      const last = written.at(-1)
      const success = new streamsPb.AppendResp.Success()
      if (last === undefined) {
        // An empty append succeeds and reports where the stream already is.
        if (exists) success.setCurrentRevision(current.toString())
        else success.setNoStream(new sharedPb.Empty())
        success.setNoPosition(new sharedPb.Empty())
      } else {
        success
          .setCurrentRevision(last.revision.toString())
          .setPosition(
            new streamsPb.AppendResp.Position()
              .setCommitPosition(last.position.toString())
              .setPreparePosition(last.position.toString())
          )
      }
      callback(null, resp.setSuccess(success))
    })
  }

  private retentionOf(stream: string): Retention {
    const metadata = this.streams.get(`$$${stream}`)?.records.at(-1)
    if (metadata === undefined) return {}
    const parsed: unknown = JSON.parse(Buffer.from(metadata.data).toString("utf8"))
    if (typeof parsed !== "object" || parsed === null) return {}
    const { $maxAge: maxAge, $maxCount: maxCount } = parsed as Record<string, unknown>
    return {
      ...(typeof maxAge === "number" ? { maxAge } : {}),
      ...(typeof maxCount === "number" ? { maxCount } : {})
    }
  }

  /** What a stream read shows: retention hides the events past `$maxCount` and older than `$maxAge`. */
  private visible(stream: string, state: StreamState): Array<LogRecord> {
    const { maxAge, maxCount } = this.retentionOf(stream)
    const oldest = maxAge === undefined ? -Infinity : this.now() - maxAge * 1000
    const firstRevision = maxCount === undefined ? 0n : state.last + 1n - BigInt(maxCount)
    return state.records.filter((record) => record.revision >= firstRevision && record.createdMs >= oldest)
  }

  private serveRead(call: grpc.ServerWritableStream<ReadReq, ReadResp>) {
    const options = call.request.getOptions()
    if (options === undefined) return call.destroy(new Error("no read options"))
    const structuredIds = options.getUuidOption()?.hasStructured() ?? false
    const send = (record: LogRecord) => call.write(eventResp(record, structuredIds))
    const count = options.hasCount() ? Number(options.getCount()) : Number.MAX_SAFE_INTEGER
    const isBackwards = options.getReadDirection() === backwards

    const streamOptions = options.getStream()
    if (streamOptions !== undefined) {
      if (options.hasSubscription()) {
        return call.destroy(Object.assign(new Error("stream subscriptions are not served"), { code: grpc.status.UNIMPLEMENTED }))
      }
      const stream = streamNameOf(streamOptions.getStreamIdentifier())
      const state = this.streams.get(stream)
      if (state === undefined) {
        call.write(new streamsPb.ReadResp().setStreamNotFound(
          new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(identifier(stream))
        ))
        return call.end()
      }
      const records = this.visible(stream, state)
      const revisionCase = streamOptions.getRevisionOptionCase()
      const from = revisionCase === RevisionCase.REVISION ? BigInt(streamOptions.getRevision()) : undefined
      const selected = isBackwards
        ? revisionCase === RevisionCase.START
          ? records.slice(0, 1)
          : records.filter((r) => from === undefined || r.revision <= from).reverse()
        : revisionCase === RevisionCase.END
          ? []
          : records.filter((r) => from === undefined || r.revision >= from)
      selected.slice(0, count).forEach(send)
      return call.end()
    }

    const all = options.getAll()
    const matches = filterOf(options)
    const allCase = all?.getAllOptionCase()
    const at = allCase === AllCase.POSITION ? BigInt(all?.getPosition()?.getCommitPosition() ?? "0") : undefined

    if (options.hasSubscription()) {
      call.write(new streamsPb.ReadResp().setConfirmation(
        new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID())
      ))
      // A subscription starts strictly after its position; catch-up and going live happen in one turn, so no gap.
      const catchUp = allCase === AllCase.END ? [] : this.log.filter((r) => at === undefined || r.position > at)
      catchUp.filter(matches).forEach(send)
      call.write(new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp()))
      const listener: Live = (record) => {
        if (matches(record)) send(record)
      }
      this.live.add(listener)
      const unsubscribe = () => this.live.delete(listener)
      call.on("cancelled", unsubscribe)
      call.on("close", unsubscribe)
      call.on("error", unsubscribe)
      return
    }

    // Forwards from a position includes it; backwards from a position reads what precedes it.
    const selected = isBackwards
      ? allCase === AllCase.START
        ? []
        : this.log.filter((r) => at === undefined || r.position < at).reverse()
      : allCase === AllCase.END
        ? []
        : this.log.filter((r) => at === undefined || r.position >= at)
    selected.filter(matches).slice(0, count).forEach(send)
    call.end()
  }

  /** Removes what retention hides (and superseded `$$` metadata), then records the run as the server does. */
  private scavenge(): InstanceType<typeof operationsPb.ScavengeResp> {
    const scavengeId = randomUUID()
    const started = this.now()
    const kept = new Set<LogRecord>()
    for (const [stream, state] of this.streams) {
      const keep = stream.startsWith("$$") ? state.records.slice(-1) : this.visible(stream, state)
      state.records = keep
      keep.forEach((record) => kept.add(record))
    }
    const removed = this.log.length - kept.size
    const remaining = this.log.filter((record) => kept.has(record))
    this.log.splice(0, this.log.length, ...remaining)
    const json = (type: string, data: object) => ({
      id: randomUUID(),
      type,
      contentType: "application/json",
      data: Buffer.from(JSON.stringify(data), "utf8"),
      customMetadata: new Uint8Array()
    })
    this.write(`$scavenges-${scavengeId}`, [
      json("$scavengeStarted", { scavengeId }),
      json("$scavengeCompleted", {
        scavengeId,
        result: "Success",
        error: null,
        timeTaken: `${this.now() - started} ms`,
        spaceSaved: removed
      })
    ])
    return new operationsPb.ScavengeResp()
      .setScavengeId(scavengeId)
      .setScavengeResult(operationsPb.ScavengeResp.ScavengeResult.STARTED)
  }
}
