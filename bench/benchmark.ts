/** One measured figure next to its raw baseline from the same run; ratio = value / baseline, higher is better. */
export interface BenchResult {
  readonly name: string
  readonly unit: string
  readonly value: number
  readonly baseline: number
  readonly ratio: number
  readonly notes: string
}

/** A benchmark a bench module offers; `bench/main.ts` runs those whose name starts with `--only`. */
export interface Benchmark {
  readonly name: string
  readonly run: () => Promise<ReadonlyArray<BenchResult>>
}

/** The arithmetic mean of the rounds' figures. */
export const mean = (values: ReadonlyArray<number>) => values.reduce((sum, value) => sum + value, 0) / values.length

export interface Rate {
  readonly perSecond: number
  readonly count: number
}

/**
 * Measures a store loop against its raw baseline in alternating rounds, so that load from other processes
 * falls on both alike. Each loop gets `rounds` turns of at most `maxCount / rounds` units or
 * `maxMillis / rounds` ms; a loop runs until either bound and returns the units it did.
 */
export const compareRates = async (
  options: { readonly rounds: number; readonly maxCount: number; readonly maxMillis: number },
  raw: (maxCount: number, deadline: number) => number | Promise<number>,
  measured: (maxCount: number, deadline: number) => number | Promise<number>
): Promise<{ readonly raw: Rate; readonly value: Rate }> => {
  const totals = { raw: { count: 0, millis: 0 }, value: { count: 0, millis: 0 } }
  const turn = async (total: { count: number; millis: number }, loop: typeof raw) => {
    const start = performance.now()
    total.count += await loop(Math.ceil(options.maxCount / options.rounds), start + options.maxMillis / options.rounds)
    total.millis += performance.now() - start
  }
  for (let round = 0; round < options.rounds; round++) {
    await turn(totals.raw, raw)
    await turn(totals.value, measured)
  }
  const rate = (total: { count: number; millis: number }): Rate => ({
    perSecond: (total.count * 1000) / total.millis,
    count: total.count
  })
  return { raw: rate(totals.raw), value: rate(totals.value) }
}

export const result = (name: string, unit: string, value: number, baseline: number, notes: string): BenchResult => ({
  name,
  unit,
  value: Math.round(value),
  baseline: Math.round(baseline),
  ratio: Math.round((value / baseline) * 1000) / 1000,
  notes
})

/** A benchmark that threw instead of measuring: what it said, so the run can name it. */
export interface BenchFailure {
  readonly name: string
  readonly error: string
}

/**
 * Runs the benchmarks one after another, saying each on `progress`. One that fails (a Docker engine that is
 * not there, say) is recorded and the run goes on, so a long run keeps every figure it did measure.
 */
export const runBenchmarks = async (
  selected: ReadonlyArray<Benchmark>,
  progress: (line: string) => void
): Promise<{ readonly results: ReadonlyArray<BenchResult>; readonly failed: ReadonlyArray<BenchFailure> }> => {
  const results: Array<BenchResult> = []
  const failed: Array<BenchFailure> = []
  for (const bench of selected) {
    progress(`running ${bench.name} …`)
    try {
      results.push(...(await bench.run()))
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      failed.push({ name: bench.name, error: message })
      progress(`${bench.name} failed: ${message}`)
    }
  }
  return { results, failed }
}
