import { Schema } from "effect"
import { ClientId } from "./ids.ts"

/** A request on `umbra.ctl.<tenant>.<instanceId>` (`subjects.control`), answered by the instance's agent. */
export const ControlRequest = Schema.Struct({
  op: Schema.Literals(["statePaths", "prepareTransfer", "drain", "scrub", "assign"]),
  /** With `assign`: the client a pooled shadow now serves, so that its telemetry counts for that client. */
  clientId: Schema.optionalKey(ClientId)
})
export type ControlRequest = typeof ControlRequest.Type
export const ControlRequestJson = Schema.fromJsonString(ControlRequest)

const StateFile = Schema.Struct({ path: Schema.String, bytes: Schema.Number })

export const StatePathReport = Schema.Struct({
  path: Schema.String,
  exists: Schema.Boolean,
  files: Schema.Number,
  bytes: Schema.Number
})

/** Replies; each carries `ok`, failures carry a tagged error like command replies do. */
export const StatePathsReply = Schema.Struct({
  ok: Schema.Literal(true),
  op: Schema.Literal("statePaths"),
  paths: Schema.Array(StatePathReport)
})

export const PrepareTransferReply = Schema.Struct({
  ok: Schema.Literal(true),
  op: Schema.Literal("prepareTransfer"),
  settled: Schema.Boolean,
  files: Schema.Number,
  bytes: Schema.Number,
  paths: Schema.Array(Schema.Struct({ path: Schema.String, files: Schema.Array(StateFile), bytes: Schema.Number }))
})

export const DrainReply = Schema.Struct({
  ok: Schema.Literal(true),
  op: Schema.Literal("drain"),
  ready: Schema.Literal(false)
})

/** A recycled shadow's state paths emptied (its shared paths kept), so the next client finds nothing of the last one's. */
export const ScrubReply = Schema.Struct({
  ok: Schema.Literal(true),
  op: Schema.Literal("scrub"),
  removedFiles: Schema.Number,
  bytes: Schema.Number
})

export const AssignReply = Schema.Struct({
  ok: Schema.Literal(true),
  op: Schema.Literal("assign"),
  clientId: ClientId,
  /**
   * The first heartbeat that speaks for the workload started for this client: earlier ones may still say
   * the last client's was ready. Absent from an agent from before it was sent.
   */
  readyFromSeq: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /**
   * Its workload was ready when assigned: started in the pool after the scrub, it served no one before this
   * client, so it is not started again and no heartbeat needs to be waited for.
   */
  ready: Schema.optionalKey(Schema.Boolean)
})

export const ControlFailure = Schema.Struct({
  ok: Schema.Literal(false),
  error: Schema.Struct({ tag: Schema.String, message: Schema.String })
})

export const ControlReply = Schema.Union([StatePathsReply, PrepareTransferReply, DrainReply, ScrubReply, AssignReply, ControlFailure])
export type ControlReply = typeof ControlReply.Type
export const ControlReplyJson = Schema.fromJsonString(ControlReply)
