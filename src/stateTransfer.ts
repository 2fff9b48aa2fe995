import { Context, type Effect, Schema } from "effect"

export interface TransferRequest {
  /** Both instances are the tenant's: a transfer never crosses tenants. */
  readonly tenant: string
  readonly fromInstanceId: string
  readonly toInstanceId: string
  /** The template's state paths: each is copied into the same path of the target. */
  readonly paths: ReadonlyArray<string>
  /**
   * Files (relative to their state path) that carry the source's identity (instance id, random seeds,
   * tokens): left out of the copy, so that the target makes its own.
   */
  readonly identityFiles: ReadonlyArray<string>
  /** The most bytes of file content the transfer takes; a larger state fails it. */
  readonly maxBytes: number
}

export interface TransferredFile {
  /** Relative to its state path. */
  readonly path: string
  readonly bytes: number
  readonly sha256: string
}

export interface TransferReport {
  readonly bytes: number
  readonly files: number
  /** SHA-256 over every file's path and checksum, in path order: equal state, equal checksum. */
  readonly checksum: string
  readonly ms: number
  /** Identity files found in the source and not copied. */
  readonly reset: ReadonlyArray<string>
  readonly paths: ReadonlyArray<{ readonly path: string; readonly files: ReadonlyArray<TransferredFile> }>
}

/**
 * The transfer was refused or failed; `reason` says which check: `unsafe-entry` (an entry that would land
 * outside its state path), `too-large`, `checksum-mismatch` (the target does not hold what was sent), or
 * `runtime` (export or import failed).
 */
export class TransferFailed extends Schema.TaggedError<TransferFailed>()("TransferFailed", {
  message: Schema.String,
  reason: Schema.Literals(["unsafe-entry", "too-large", "checksum-mismatch", "runtime"])
}) {}

export interface StateTransferShape {
  /**
   * Streams each state path out of the source and into the target (created, not yet started), checking
   * every entry on the way and every file's checksum on arrival. Nothing is written to the target unless
   * the whole archive passed the checks.
   */
  readonly transfer: (request: TransferRequest) => Effect.Effect<TransferReport, TransferFailed>
}

export class StateTransfer extends Context.Service<StateTransfer, StateTransferShape>()("umbra/StateTransfer") {}
