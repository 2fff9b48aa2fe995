/**
 * The bench runner: `node bench/main.ts [--json] [--only <name prefix>]`. Progress goes to stderr; stdout
 * holds either one JSON document (`--json`) or a table for people. A benchmark that fails is named, the others
 * still run, and the run exits 1.
 */
import { type Benchmark, runBenchmarks } from "./benchmark.ts"
import { benchmarks as commands } from "./commands.bench.ts"
import { benchmarks as history } from "./history.bench.ts"
import { benchmarks as launch } from "./launch.bench.ts"
import { benchmarks as relay } from "./relay.bench.ts"
import { benchmarks as replay } from "./replay.bench.ts"
import { benchmarks as router } from "./router.bench.ts"
import { benchmarks as shadows } from "./shadows.bench.ts"
import { benchmarks as sqliteEventStore } from "./sqliteEventStore.bench.ts"
import { benchmarks as stateTransfer } from "./stateTransfer.bench.ts"
import { benchmarks as telemetry } from "./telemetry.bench.ts"

const modules: ReadonlyArray<ReadonlyArray<Benchmark>> = [sqliteEventStore, commands, history, relay, telemetry, shadows, router, stateTransfer, launch, replay]

const usage = `Usage: npm run bench -- [--json] [--only <name prefix>]

Each benchmark measures its raw baseline in the same run and reports ratio = value / baseline.
  --json          print one JSON document: {"benchmarks": [{"name", "unit", "value", "baseline", "ratio", "notes"}]},
                  with "failed": [{"name", "error"}] when a benchmark failed (the run then exits 1)
  --only <name>   run the benchmarks whose name starts with <name>`

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const unknown = args.filter((arg, i) => arg.startsWith("-") && arg !== "--json" && arg !== "--only" && args[i - 1] !== "--only")
if (unknown.length > 0) {
  process.stderr.write(`unknown option ${unknown.join(" ")}\n\n${usage}\n`)
  process.exit(2)
}
const json = args.includes("--json")
const onlyAt = args.indexOf("--only")
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined
if (onlyAt >= 0 && only === undefined) {
  process.stderr.write("--only needs a benchmark name (or the start of one)\n")
  process.exit(2)
}

const selected = modules.flat().filter((bench) => only === undefined || bench.name.startsWith(only))
if (selected.length === 0) {
  process.stderr.write(`no benchmark starts with "${only}"; there are: ${modules.flat().map((b) => b.name).join(", ")}\n`)
  process.exit(2)
}

const { results, failed } = await runBenchmarks(selected, (line) => process.stderr.write(`${line}\n`))

if (json) {
  process.stdout.write(`${JSON.stringify({ benchmarks: results, ...(failed.length > 0 ? { failed } : {}) })}\n`)
} else {
  const rows = [
    ["name", "unit", "value", "baseline", "ratio", "notes"],
    ...results.map((r) => [r.name, r.unit, String(r.value), String(r.baseline), r.ratio.toFixed(2), r.notes])
  ]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  for (const row of rows) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}\n`)
  for (const { name, error } of failed) process.stdout.write(`${name} failed: ${error}\n`)
}
if (failed.length > 0) process.exitCode = 1
