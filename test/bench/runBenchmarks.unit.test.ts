import { describe, expect, it } from "vitest"
import { type Benchmark, result, runBenchmarks } from "../../bench/benchmark.ts"

const measuring = (name: string): Benchmark => ({ name, run: async () => [result(name, "ops/s", 50, 100, "")] })

describe("runBenchmarks", () => {
  it("keeps the figures of every benchmark that ran when one between them fails, and names the failure", async () => {
    const lines: Array<string> = []
    const failing: Benchmark = {
      name: "shadows.ready",
      run: async () => {
        throw new Error("inspect: connect ENOENT /var/run/docker.sock")
      }
    }

    const { results, failed } = await runBenchmarks([measuring("relay"), failing, measuring("replay.all")], (line) => lines.push(line))

    expect(results.map((r) => [r.name, r.ratio])).toEqual([["relay", 0.5], ["replay.all", 0.5]])
    expect(failed).toEqual([{ name: "shadows.ready", error: "inspect: connect ENOENT /var/run/docker.sock" }])
    expect(lines).toEqual([
      "running relay …",
      "running shadows.ready …",
      "shadows.ready failed: inspect: connect ENOENT /var/run/docker.sock",
      "running replay.all …"
    ])
  })
})
