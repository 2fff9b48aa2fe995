import { readFile } from "node:fs/promises"
import { basename } from "node:path"
import { alignToGrid, STEP_MS } from "../../domain/forecast/series.ts"

/**
 * Reads the two CSV layouts of ../shared/traces onto the 5-minute grid:
 * `timestamp,value` (one series, timestamps without a zone, read as UTC) and `step,<id>,<id>,...`
 * (one series per column, row order is time). Missing points are forward-filled and counted.
 */
export interface TraceSeries {
  readonly name: string
  readonly file: string
  /** Epoch milliseconds of the first point; absent when the file has no timestamps. */
  readonly start?: number
  readonly values: Float64Array
  readonly gaps: { readonly filled: number; readonly longGaps: number; readonly snapped: number; readonly duplicates: number }
}

export class TraceFileError extends Error {
  readonly file: string
  constructor(file: string, message: string) {
    super(`${file}: ${message}`)
    this.file = file
  }
}

/** Gaps up to an hour are "short"; longer ones are filled the same way but reported apart. */
const SHORT_GAP_STEPS = 12

const cells = (line: string): Array<string> => line.split(",").map((cell) => cell.trim().replace(/^"(.*)"$/, "$1"))

const parseNumber = (cell: string | undefined): number => (cell === undefined || cell === "" ? Number.NaN : Number(cell))

/** Timestamps like "2014-05-14 01:14:00" carry no zone: reading them as UTC keeps the calendar terms stable. */
const parseTimestamp = (cell: string): number => Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(cell) ? cell : `${cell.replace(" ", "T")}Z`)

const gridded = (file: string, name: string, times: Array<number>, values: Array<number>, start?: number): TraceSeries => {
  const grid = alignToGrid(times, values, SHORT_GAP_STEPS)
  const { filled, longGaps, snapped, duplicates } = grid
  const base = { name, file, values: grid.values, gaps: { filled, longGaps, snapped, duplicates } }
  return start === undefined ? base : { ...base, start }
}

export const parseTraces = (file: string, text: string): ReadonlyArray<TraceSeries> => {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "")
  const header = cells(lines[0] ?? "")
  const rows = lines.slice(1).map(cells)
  const first = header[0]?.toLowerCase()
  if (first === "timestamp" && header.length >= 2) {
    const samples = rows
      .map((row) => ({ at: parseTimestamp(row[0] ?? ""), value: parseNumber(row[1]) }))
      .filter((s) => Number.isFinite(s.at))
      .sort((a, b) => a.at - b.at)
    if (samples.length === 0) throw new TraceFileError(file, "no rows with a readable timestamp")
    const start = samples[0]?.at ?? 0
    return [gridded(file, basename(file, ".csv"), samples.map((s) => s.at), samples.map((s) => s.value), start)]
  }
  if (first === "step" && header.length >= 2) {
    const steps = rows.map((row) => parseNumber(row[0]))
    if (steps.some((s) => !Number.isFinite(s))) throw new TraceFileError(file, "a row has no numeric step")
    const times = steps.map((s) => s * STEP_MS)
    return header.slice(1).map((name, c) => gridded(file, name, times, rows.map((row) => parseNumber(row[c + 1]))))
  }
  throw new TraceFileError(file, `unknown layout (header starts with "${header[0] ?? ""}"; expected "timestamp" or "step")`)
}

export const readTraces = async (file: string): Promise<ReadonlyArray<TraceSeries>> => {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new TraceFileError(file, `cannot read (${error.code ?? error.message})`)
  })
  return parseTraces(file, text)
}
