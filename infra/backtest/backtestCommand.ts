import { basename, dirname } from "node:path"
import { backtestSeries, unscorable, type MethodScore, type SeriesScore } from "../../domain/forecast/backtest.ts"
import { forecasterModel } from "../../domain/forecast/forecaster.ts"
import { median } from "../../domain/forecast/series.ts"
import { readTraces, TraceFileError, type TraceSeries } from "./csvTraces.ts"

const HELP = `umbra backtest [--horizon 15|30|60]... [--target-shortfall 0.05] [--json] FILE...

Runs the forecaster over CSV traces with the protocol of traces/README.md: the first half of each
series is history, every 5-minute point of the second half is a forecast origin that sees only the
past, and a provision is set every 60 minutes for the next 60 minutes with a headroom learned from
past errors. Baselines (last value, 1-hour mean, max and 95th percentile of the last 24 h) run in the
same pass, calibrated to the same target.

FILE layouts: "timestamp,value" (put on the 5-minute grid, short gaps forward-filled and counted) or
"step,<series>,<series>,..." (one series per column).

  --horizon M            report relative MAE at M minutes (15, 30 or 60; repeat for several; default all)
  --target-shortfall X   share of 5-minute steps allowed above the provision (0 < X < 0.5; default 0.05)
  --json                 print one JSON document on stdout instead of tables
  -h, --help             show this text

Example:
  umbra backtest --horizon 30 --json ../shared/traces/*.csv

Exit codes: 0 done, 2 bad arguments or unreadable files.`

const HORIZONS = [15, 30, 60] as const

interface Options {
  readonly horizons: ReadonlyArray<number>
  readonly target: number
  readonly json: boolean
  readonly files: ReadonlyArray<string>
}

class UsageError extends Error {}

const parseArgs = (argv: ReadonlyArray<string>): Options | "help" => {
  const horizons: Array<number> = []
  const files: Array<string> = []
  let target = 0.05
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new UsageError(`${flag} needs a value`)
      return v
    }
    if (flag === "-h" || flag === "--help") return "help"
    else if (flag === "--json") json = true
    else if (flag === "--horizon") {
      const v = value()
      const minutes = Number(v)
      if (!HORIZONS.some((h) => h === minutes)) throw new UsageError(`--horizon must be 15, 30 or 60 (got "${v}")`)
      if (!horizons.includes(minutes)) horizons.push(minutes)
    } else if (flag === "--target-shortfall") {
      const v = value()
      target = Number(v)
      if (!(target > 0 && target < 0.5)) throw new UsageError(`--target-shortfall must be a number between 0 and 0.5 (got "${v}")`)
    } else if (flag.startsWith("-") && flag !== "-") throw new UsageError(`unknown option ${flag}`)
    else files.push(arg)
  }
  if (files.length === 0) throw new UsageError("no trace files given")
  return { horizons: horizons.length > 0 ? horizons.sort((a, b) => a - b) : [...HORIZONS], target, json, files }
}

interface ScoredSeries extends SeriesScore {
  readonly name: string
  readonly file: string
}

interface Skipped {
  readonly name: string
  readonly file: string
  readonly reason: string
}

/** Medians over series, field by field, of the same shape as one series' score. */
const medianScore = (scores: ReadonlyArray<MethodScore>, horizons: ReadonlyArray<number>, target: number): MethodScore => {
  const of = (pick: (s: MethodScore) => number) => median(scores.map(pick).filter(Number.isFinite))
  return {
    relMae: Object.fromEntries(horizons.map((h) => [String(h), of((s) => s.relMae[String(h)] ?? Number.NaN)])),
    capacity: { target, shortfall: of((s) => s.capacity.shortfall), slack: of((s) => s.capacity.slack) }
  }
}

const groupScore = (name: string, members: ReadonlyArray<ScoredSeries>, options: Options) => {
  const baselineNames = Object.keys(members[0]?.baselines ?? {})
  return {
    name,
    series: members.length,
    ...medianScore(members, options.horizons, options.target),
    baselines: Object.fromEntries(
      baselineNames.map((b) => [
        b,
        medianScore(members.flatMap((m) => m.baselines[b] ?? []), options.horizons, options.target)
      ])
    )
  }
}

type GroupScore = ReturnType<typeof groupScore>

const groupBy = (series: ReadonlyArray<ScoredSeries>, key: (s: ScoredSeries) => string) => {
  const groups = new Map<string, Array<ScoredSeries>>()
  for (const s of series) groups.set(key(s), [...(groups.get(key(s)) ?? []), s])
  return groups
}

/** The baseline with the least slack among those whose shortfall is within one point of the target. */
const bestBaseline = (group: GroupScore) => {
  const entries = Object.entries(group.baselines)
  const fair = entries.filter(([, b]) => Math.abs(b.capacity.shortfall - group.capacity.target) <= 0.01)
  const [name, score] = (fair.length > 0 ? fair : entries).reduce((best, next) =>
    next[1].capacity.slack < best[1].capacity.slack ? next : best
  )
  return { name, shortfall: score.capacity.shortfall, slack: score.capacity.slack, ratio: group.capacity.slack / score.capacity.slack }
}

const fixed = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : "—")
const percent = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "—")

const table = (title: string, groups: ReadonlyArray<GroupScore>, options: Options): string => {
  const header = [
    "group",
    "n",
    ...options.horizons.map((h) => `relMAE ${h}m`),
    "shortfall",
    "slack",
    "best baseline",
    "its shortfall",
    "its slack",
    "slack ratio"
  ]
  const rows = groups.map((g) => {
    const best = bestBaseline(g)
    return [
      g.name,
      String(g.series),
      ...options.horizons.map((h) => fixed(g.relMae[String(h)] ?? Number.NaN)),
      percent(g.capacity.shortfall),
      percent(g.capacity.slack),
      best.name,
      percent(best.shortfall),
      percent(best.slack),
      fixed(best.ratio)
    ]
  })
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ")
  return [`${title} (target shortfall ${percent(options.target)}, medians over series)`, line(header), ...rows.map(line)].join("\n")
}

const runAll = (traces: ReadonlyArray<TraceSeries>, options: Options) => {
  const scored: Array<ScoredSeries> = []
  const skipped: Array<Skipped> = []
  const started = performance.now()
  traces.forEach((trace, i) => {
    const reason = unscorable(trace.values)
    if (reason !== undefined) {
      skipped.push({ name: trace.name, file: trace.file, reason })
      process.stderr.write(`[${i + 1}/${traces.length}] ${trace.name}: skipped (${reason})\n`)
      return
    }
    const score = backtestSeries(trace.values, {
      targetShortfall: options.target,
      horizonsMinutes: [...new Set([...options.horizons, 60])].sort((a, b) => a - b),
      ...(trace.start === undefined ? {} : { start: trace.start })
    })
    const relMae = Object.fromEntries(options.horizons.map((h) => [String(h), score.relMae[String(h)] ?? Number.NaN]))
    const baselines = Object.fromEntries(
      Object.entries(score.baselines).map(([name, b]) => [
        name,
        { ...b, relMae: Object.fromEntries(options.horizons.map((h) => [String(h), b.relMae[String(h)] ?? Number.NaN])) }
      ])
    )
    scored.push({ name: trace.name, file: trace.file, relMae, capacity: score.capacity, baselines })
    const seconds = ((performance.now() - started) / 1000).toFixed(0)
    process.stderr.write(`[${i + 1}/${traces.length}] ${trace.name} done (${seconds} s)\n`)
  })
  return { scored, skipped }
}

/** The README's groups: single-series files pool by folder (nab/), multi-series files stand alone. */
const collectionOf = (series: ScoredSeries, perFile: ReadonlyMap<string, ReadonlyArray<ScoredSeries>>): string =>
  (perFile.get(series.file)?.length ?? 0) > 1 ? basename(series.file, ".csv") : basename(dirname(series.file))

export const backtestCommand = async (argv: ReadonlyArray<string>): Promise<number> => {
  let options: Options | "help"
  try {
    options = parseArgs(argv)
  } catch (error) {
    process.stderr.write(`umbra backtest: ${(error as Error).message}\nRun "umbra backtest --help" for usage.\n`)
    return 2
  }
  if (options === "help") {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  let traces: Array<TraceSeries>
  try {
    traces = (await Promise.all(options.files.map(readTraces))).flat()
  } catch (error) {
    if (!(error instanceof TraceFileError)) throw error
    process.stderr.write(`umbra backtest: ${error.message}\n`)
    return 2
  }
  for (const trace of traces) {
    const { filled, longGaps, snapped, duplicates } = trace.gaps
    if (filled + snapped + duplicates > 0) {
      process.stderr.write(
        `${trace.file} ${trace.name}: ${filled} missing points forward-filled (${longGaps} gaps over an hour), ${snapped} off-grid samples snapped, ${duplicates} duplicates\n`
      )
    }
  }
  const started = performance.now()
  const { scored, skipped } = runAll(traces, options)
  const perFile = groupBy(scored, (s) => s.file)
  const groups = [...perFile].map(([file, members]) => ({ ...groupScore(basename(file, ".csv"), members, options), file }))
  const collections = [...groupBy(scored, (s) => collectionOf(s, perFile))].map(([name, members]) => groupScore(name, members, options))
  const seconds = (performance.now() - started) / 1000

  if (options.json) {
    const summary = collections.map((g) => ({ ...g, bestBaseline: bestBaseline(g) }))
    const series = scored.map(({ name, file, relMae, capacity, baselines }) => ({ name, file, relMae, capacity, baselines }))
    const gaps = traces.map((t) => ({ name: t.name, file: t.file, ...t.gaps })).filter((g) => g.filled + g.snapped + g.duplicates > 0)
    process.stdout.write(`${JSON.stringify({ model: forecasterModel, series, groups, summary, skipped, gaps, seconds })}\n`)
  } else {
    const lines = [table("By folder or multi-series file", collections, options)]
    if (groups.length > 1) lines.push("", table("By input file", groups, options))
    if (skipped.length > 0) lines.push("", "Skipped:", ...skipped.map((s) => `  ${s.file} ${s.name}: ${s.reason}`))
    lines.push("", `Model: ${forecasterModel}`, `${scored.length} series in ${seconds.toFixed(0)} s`)
    process.stdout.write(`${lines.join("\n")}\n`)
  }
  return 0
}
