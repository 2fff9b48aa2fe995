import type { Worker } from "node:worker_threads"

const closeWaitMillis = 5_000

/**
 * Asks a worker thread to close (`null`, after what it was already sent) and waits for it to exit;
 * one that has not exited within 5 s is terminated.
 */
export const closeThread = async (thread: Worker): Promise<void> => {
  const exited = new Promise<void>((resolve) => thread.once("exit", () => resolve()))
  thread.postMessage(null)
  const timer = setTimeout(() => void thread.terminate(), closeWaitMillis)
  await exited
  clearTimeout(timer)
}
