import type { Position } from "../../domain/envelope.ts"

const width = 20 // digits of 2^64 - 1: every adapter's numeric position fits and sorts as a string

export const positionFrom = (n: bigint | number): Position => n.toString().padStart(width, "0") as Position

export const positionToBigInt = (position: Position): bigint => BigInt(position)
