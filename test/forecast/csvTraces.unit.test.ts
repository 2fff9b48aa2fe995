import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { backtestSeries } from "../../domain/forecast/backtest.ts"
import { STEPS_PER_DAY } from "../../domain/forecast/series.ts"
import { parseTraces, readTraces, TraceFileError } from "../../infra/backtest/csvTraces.ts"

const trace = (path: string) => fileURLToPath(new URL(`../../../shared/traces/${path}`, import.meta.url))

describe("CSV traces", () => {
  it("puts timestamped samples on the 5-minute grid and counts what it filled", () => {
    const [series] = parseTraces(
      "t.csv",
      "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,2\n2014-01-01 00:21:00,5\n2014-01-01 00:25:00,6\n"
    )
    expect(Array.from(series?.values ?? [])).toEqual([1, 2, 2, 2, 5, 6])
    expect(series?.gaps).toEqual({ filled: 2, longGaps: 0, snapped: 1, duplicates: 0 })
    expect(series?.start).toBe(Date.UTC(2014, 0, 1))
  })

  it("reads one series per column of a step file, forward-filling empty cells", () => {
    const traces = parseTraces("s.csv", '"step","a","b"\n0,1,7\n1,,8\n2,3,9\n')
    expect(traces.map((t) => t.name)).toEqual(["a", "b"])
    expect(Array.from(traces[0]?.values ?? [])).toEqual([1, 1, 3])
    expect(traces[0]?.gaps.filled).toBe(1)
    expect(traces[1]?.start).toBeUndefined()
  })

  it("names the file it cannot read or understand", async () => {
    await expect(readTraces("/no/such/trace.csv")).rejects.toBeInstanceOf(TraceFileError)
    expect(() => parseTraces("x.csv", "when,what\n1,2\n")).toThrow(/unknown layout/)
  })
})

describe("Forecaster on a slice of a real trace", () => {
  it("beats the last value on four days of an EC2 CPU series and holds the target shortfall", async () => {
    const [series] = await readTraces(trace("nab/ec2_cpu_utilization_24ae8d.csv"))
    const values = series?.values.slice(0, 4 * STEPS_PER_DAY) ?? new Float64Array()
    const result = backtestSeries(values, {
      targetShortfall: 0.05,
      horizonsMinutes: [15, 30, 60],
      ...(series?.start === undefined ? {} : { start: series.start })
    })
    expect(result.relMae["15"]).toBeLessThan(1)
    expect(result.relMae["60"]).toBeLessThan(1)
    expect(result.capacity.shortfall).toBeGreaterThan(0.02)
    expect(result.capacity.shortfall).toBeLessThan(0.08)
  })
})
