import type { Position } from "../../domain/envelope.ts"

const width = 20

/**
 * A KurrentDB log position as an Umbra Position: commit then prepare, 20 digits each. The events of one
 * append share their commit position and differ by prepare position, so both are needed to keep them apart
 * and in order; as strings they sort as the log does.
 */
export const kurrentPosition = (commit: bigint, prepare: bigint): Position =>
  `${commit.toString().padStart(width, "0")}${prepare.toString().padStart(width, "0")}` as Position

export const kurrentStart = kurrentPosition(0n, 0n)

export const toKurrentPosition = (position: Position): { readonly commit: bigint; readonly prepare: bigint } => ({
  commit: BigInt(position.slice(0, width)),
  prepare: BigInt(position.slice(width))
})
