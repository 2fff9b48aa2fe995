import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest"
import { forecasterModel } from "../../domain/forecast/forecaster.ts"
import { backtestCommand } from "../../infra/backtest/backtestCommand.ts"

const captured = () => {
  const out: Array<string> = []
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (out.push(String(chunk)), true))
  vi.spyOn(process.stderr, "write").mockImplementation(() => true)
  return out
}

describe("umbra backtest", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("exits 2 on a bad flag, a bad value or an unreadable file", async () => {
    captured()
    expect(await backtestCommand(["--bogus", "a.csv"])).toBe(2)
    expect(await backtestCommand(["--horizon", "45", "a.csv"])).toBe(2)
    expect(await backtestCommand(["--target-shortfall", "2", "a.csv"])).toBe(2)
    expect(await backtestCommand([])).toBe(2)
    expect(await backtestCommand(["/no/such/file.csv"])).toBe(2)
  })

  it("prints help", async () => {
    const out = captured()
    expect(await backtestCommand(["--help"])).toBe(0)
    expect(out.join("")).toContain("--target-shortfall")
  })

  it("prints one JSON document and skips a constant column", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umbra-backtest-"))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, "two.csv")
    const rows = Array.from({ length: 600 }, (_, t) => `${t},${10 + 5 * Math.sin(t / 9) + (t % 13 === 0 ? 20 : 0)},7`)
    writeFileSync(file, ['"step","busy","flat"', ...rows].join("\n"))
    const out = captured()
    expect(await backtestCommand(["--json", "--horizon", "15", file])).toBe(0)
    const doc = JSON.parse(out.join(""))
    expect(doc.model).toBe(forecasterModel)
    expect(doc.series.map((s: { name: string }) => s.name)).toEqual(["busy"])
    expect(Object.keys(doc.series[0].relMae)).toEqual(["15"])
    expect(doc.series[0].capacity.target).toBe(0.05)
    expect(Object.keys(doc.series[0].baselines)).toEqual(["lastValue", "mean1h", "max24h", "p95of24h"])
    expect(doc.groups[0]).toMatchObject({ name: "two", series: 1 })
    expect(doc.skipped).toEqual([{ name: "flat", file, reason: "constant in the scored half" }])
  })
})
