import { pbkdf2 } from "node:crypto"
import { promisify } from "node:util"

const derive = promisify(pbkdf2)

/** Every thread of Node's pool busy (4 unless UV_THREADPOOL_SIZE says), as a parallel warm-up keeps them. */
const threads = Number(process.env["UV_THREADPOOL_SIZE"] ?? "4")
/** About 10 ms of CPU per piece, so that the total overshoots the target by little. */
const iterationsPerPiece = 10_000

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

/**
 * Spends `cpuMs` of this process's CPU time, on all the threads of Node's pool at once, before returning: a
 * warm-up that keeps the instance's whole CPU quota busy (as a JIT, a model load or an index build does),
 * with the main thread free to answer `/healthz` (503) meanwhile. CPU time, not wall time, so that the work
 * is the same on every quota and the wall time is what the quota makes of it.
 */
export const spendCpu = async (cpuMs: number): Promise<void> => {
  const start = process.cpuUsage()
  const worker = async () => {
    while (cpuMsSince(start) < cpuMs) await derive("umbra", "warm-up", iterationsPerPiece, 32, "sha256")
  }
  await Promise.all(Array.from({ length: threads }, worker))
}
