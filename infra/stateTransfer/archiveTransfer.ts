import { tmpdir } from "node:os"
import { join, posix } from "node:path"
import { Clock, Effect, Layer, Stream } from "effect"
import { type InstanceKey, instanceKey, InstanceRuntime, type RuntimeFailed } from "../../src/instanceRuntime.ts"
import { StateTransfer, TransferFailed, type TransferReport, type TransferRequest } from "../../src/stateTransfer.ts"
import { type ArchiveLimits, type CheckedArchive, checkArchive, defaultArchiveLimits } from "./safeArchive.ts"
import { spoolDirectory, spooled, spoolTo } from "./spool.ts"
import { differences, stateChecksum } from "./transferReport.ts"

export interface ArchiveTransferOptions {
  /** Where the checked archives wait until every state path passed; the system's temporary directory by default. */
  readonly spoolDir?: string
  /** How many entries and hard links one state path's archive may hold (`UMBRA_TRANSFER_MAX_ENTRIES`, `…_MAX_HARD_LINKS`). */
  readonly limits?: ArchiveLimits
}

const runtimeFailed = (error: RuntimeFailed) => new TransferFailed({ reason: "runtime", message: error.message })

interface SpooledPath {
  readonly path: string
  readonly file: string
  readonly archive: CheckedArchive
}

const make = (options: ArchiveTransferOptions) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    const spoolParent = options.spoolDir ?? tmpdir()
    const limits = options.limits ?? defaultArchiveLimits

    const exported = (key: InstanceKey, path: string) => runtime.exportState(key, path).pipe(Stream.mapError(runtimeFailed))

    /** The target's state path read back: exactly the files sent, each with the checksum it left with. */
    const verify = (key: InstanceKey, { path, archive }: SpooledPath, maxBytes: number) =>
      Effect.gen(function* () {
        const { instanceId } = key
        const found = yield* checkArchive(exported(key, path), { identityFiles: [], maxBytes, limits }, Stream.runDrain).pipe(
          Effect.mapError((error) =>
            error.reason === "runtime" ? error : new TransferFailed({ reason: "checksum-mismatch", message: `${path} of ${instanceId} on arrival: ${error.message}` })
          )
        )
        const differing = differences(archive.files, found.files)
        if (differing.length > 0) {
          return yield* new TransferFailed({
            reason: "checksum-mismatch",
            message: `${path} of ${instanceId} does not hold what was sent: ${differing.slice(0, 5).join("; ")}${differing.length > 5 ? ` (and ${differing.length - 5} more)` : ""}`
          })
        }
      })

    const transfer = Effect.fn("StateTransfer.transfer")(
      function* (request: TransferRequest) {
        const started = yield* Clock.currentTimeMillis
        yield* Effect.logInfo("state transfer started").pipe(Effect.annotateLogs({ maxBytes: request.maxBytes }))
        const from = instanceKey(request.tenant, request.fromInstanceId)
        const to = instanceKey(request.tenant, request.toInstanceId)
        const spool = yield* spoolDirectory(spoolParent)
        // Out of the source, through the checks, onto disk: the target is only written once every path passed.
        const spooledPaths: Array<SpooledPath> = []
        let counted = 0
        for (const [index, path] of request.paths.entries()) {
          const file = join(spool, `${index}.tar`)
          const archive = yield* checkArchive(
            exported(from, path),
            { identityFiles: request.identityFiles, maxBytes: request.maxBytes, counted, limits },
            spoolTo(file)
          )
          counted += archive.bytes
          spooledPaths.push({ path, file, archive })
        }
        for (const { path, file } of spooledPaths) {
          yield* runtime.importState(to, path, spooled(file, request.toInstanceId)).pipe(Effect.mapError(runtimeFailed))
        }
        for (const spooledPath of spooledPaths) yield* verify(to, spooledPath, request.maxBytes)
        const paths = spooledPaths.map(({ path, archive }) => ({ path, files: archive.files }))
        const report: TransferReport = {
          bytes: counted,
          files: paths.reduce((sum, path) => sum + path.files.length, 0),
          checksum: stateChecksum(paths),
          ms: (yield* Clock.currentTimeMillis) - started,
          reset: spooledPaths.flatMap(({ path, archive }) => archive.reset.map((file) => posix.join(path, file))),
          paths
        }
        yield* Effect.logInfo("state transfer completed").pipe(
          Effect.annotateLogs({ bytes: report.bytes, files: report.files, checksum: report.checksum, ms: report.ms, reset: report.reset.join(",") })
        )
        return report
      },
      Effect.tapError((error) => Effect.logWarning("state transfer failed").pipe(Effect.annotateLogs({ reason: error.reason, error: error.message }))),
      Effect.scoped,
      (effect, request) =>
        Effect.annotateLogs(effect, { tenant: request.tenant, from: request.fromInstanceId, to: request.toInstanceId, paths: request.paths.join(",") })
    )

    return StateTransfer.of({ transfer })
  })

/**
 * State transfer through the instance runtime's archives: each state path is exported from the source,
 * checked and re-packed entry by entry (`checkArchive`), spooled to disk, imported into the target once all
 * passed, and read back from the target to compare every file's checksum.
 */
export const layer = (options: ArchiveTransferOptions = {}): Layer.Layer<StateTransfer, never, InstanceRuntime> =>
  Layer.effect(StateTransfer, make(options))
