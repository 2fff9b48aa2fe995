import type { Position } from "../../domain/envelope.ts"
import { positionFrom } from "../../src/eventStore/position.ts"

/**
 * A log position given on the command line: as `events export` and `streams show` print it (20 digits,
 * 40 for KurrentDB), or a plain number, read as the SQLite store's position that many events in.
 */
export const parsePosition = (text: string | undefined): Position | undefined | "invalid" => {
  if (text === undefined) return undefined
  if (!/^\d{1,40}$/.test(text)) return "invalid"
  return text.length <= 20 ? positionFrom(BigInt(text)) : (text as Position)
}
