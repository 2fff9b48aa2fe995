import { Effect } from "effect"

const barWidth = 30
// How often progress is redrawn on a terminal, and written as a line elsewhere (a log file, a pipe).
const redrawMs = { tty: 100, plain: 2_000 }

const seconds = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.ceil(s)}s`)

/**
 * Progress of a long run on stderr (stdout keeps what the command prints): on a terminal a bar redrawn in
 * place with events/s and the time left, else a plain line every few seconds.
 */
export const makeProgressReport = (label: string, total: number | undefined) => {
  const tty = process.stderr.isTTY === true
  const startedAt = performance.now()
  let drawnAt = -Infinity

  const text = (done: number) => {
    const elapsed = (performance.now() - startedAt) / 1000
    const rate = elapsed > 0 ? done / elapsed : 0
    const known = total !== undefined && total > 0
    const eta = known && rate > 0 ? ` ETA ${seconds(Math.max(0, total - done) / rate)}` : ""
    const count = `${done.toLocaleString("en")}${known ? `/${total.toLocaleString("en")}` : ""} events, ${Math.round(rate).toLocaleString("en")} events/s`
    if (!tty || !known) return `${label}: ${count}${eta}`
    const filled = Math.min(barWidth, Math.round((done / total) * barWidth))
    return `${label} [${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${Math.min(100, Math.floor((done / total) * 100))}% ${count}${eta}`
  }

  const write = (line: string) => process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`)

  return {
    update: (done: number) =>
      Effect.sync(() => {
        const now = performance.now()
        if (now - drawnAt < (tty ? redrawMs.tty : redrawMs.plain)) return
        drawnAt = now
        write(text(done))
      }),
    finish: (done: number) => Effect.sync(() => write(`${text(done)}${tty ? "\n" : ""}`))
  }
}
