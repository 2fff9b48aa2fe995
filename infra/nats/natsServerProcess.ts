import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createConnection, createServer } from "node:net"
import { delimiter, join, resolve } from "node:path"
import { Effect, Schema, type Scope } from "effect"

/** The nats-server child process could not be started or did not become ready in time. */
export class NatsServerError extends Schema.TaggedError<NatsServerError>()("NatsServerError", {
  message: Schema.String
}) {}

export interface NatsServerOptions {
  /** Path of the nats-server binary; defaults to the one found on PATH. */
  readonly binary?: string
  /** Client port on 127.0.0.1; a free one is picked when absent. */
  readonly port?: number
  /** JetStream store directory (kept across restarts). */
  readonly storeDir: string
  /** Configuration file; defaults to the repository's `nats.conf`. */
  readonly configFile?: string
  /** The configuration file names `storeDir` itself: nats-server reloads (SIGHUP) only such a config. */
  readonly storeDirInConfig?: boolean
  /** Variables added to the server's environment (a config's `$NAME` values). */
  readonly env?: Readonly<Record<string, string>>
  readonly readyTimeoutMs?: number
}

/** A running nats-server child, stopped by its PID. */
export interface RunningNatsServer {
  readonly url: string
  readonly port: number
  readonly storeDir: string
  readonly pid: number
  readonly options: NatsServerOptions
}

export const defaultConfigFile = resolve(import.meta.dirname, "..", "..", "nats.conf")

const host = "127.0.0.1"
const logTailChars = 4_000

/** Children still running; killed if this process exits without stopping them (a crashed test worker). */
const children = new Map<number, ChildProcess>()
process.once("exit", () => {
  for (const child of children.values()) child.kill("SIGKILL")
})

/** The `nats-server` on PATH, or undefined when there is none. */
export const findNatsServerBinary = (): string | undefined => {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue
    const candidate = join(dir, "nats-server")
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      continue
    }
  }
  return undefined
}

/** A port the OS reports free on 127.0.0.1 (there is a small race until nats-server binds it). */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no port assigned"))))
    })
  })

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolveAccepts) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolveAccepts(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts nats-server with JetStream on 127.0.0.1 and resolves once it accepts TCP connections. */
export const startNatsServer = async (options: NatsServerOptions): Promise<RunningNatsServer> => {
  const binary = options.binary ?? findNatsServerBinary()
  if (binary === undefined) throw new NatsServerError({ message: "nats-server is not on PATH" })
  const port = options.port ?? (await freePort())
  const args = [
    ...["-c", options.configFile ?? defaultConfigFile, "-js", "-a", host, "-p", String(port)],
    ...(options.storeDirInConfig === true ? [] : ["-sd", options.storeDir])
  ]
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...options.env } })
  let log = ""
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (chunk: string) => {
    log = (log + chunk).slice(-logTailChars)
  })
  let exited: number | string | null | undefined
  child.once("exit", (code, signal) => {
    exited = code ?? signal
    if (child.pid !== undefined) children.delete(child.pid)
  })
  child.once("error", (error) => {
    exited = error.message
  })
  if (child.pid !== undefined) children.set(child.pid, child)

  // Ready means our own process logged it (a TCP answer alone could come from another server on the port).
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000)
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new NatsServerError({ message: `nats-server exited (${exited}) before accepting connections:\n${log}` })
    }
    if (child.pid !== undefined && log.includes("Server is ready") && (await accepts(port))) {
      return { url: `nats://${host}:${port}`, port, storeDir: options.storeDir, pid: child.pid, options: { ...options, port } }
    }
    await sleep(25)
  }
  child.kill("SIGKILL")
  throw new NatsServerError({ message: `nats-server did not accept connections on ${port} in time:\n${log}` })
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Stops the server by PID: SIGTERM (JetStream flushes and shuts down), then SIGKILL after `graceMs`. */
export const stopNatsServer = async (server: Pick<RunningNatsServer, "pid">, graceMs = 5_000): Promise<void> => {
  // Our own children are gone once reaped (a zombie still answers kill 0); other PIDs once kill 0 fails.
  const ours = children.has(server.pid)
  const gone = () => (ours ? !children.has(server.pid) : !isAlive(server.pid))
  if (gone()) return
  process.kill(server.pid, "SIGTERM")
  const deadline = Date.now() + graceMs
  while (!gone() && Date.now() < deadline) await sleep(25)
  if (gone()) return
  process.kill(server.pid, "SIGKILL")
  const killDeadline = Date.now() + 2_000
  while (!gone() && Date.now() < killDeadline) await sleep(10)
}

/** Stops `server` and starts it again on the same port and store directory. */
export const restartNatsServer = async (server: RunningNatsServer): Promise<RunningNatsServer> => {
  await stopNatsServer(server)
  return startNatsServer(server.options)
}

export const toNatsServerError = (cause: unknown): NatsServerError =>
  cause instanceof NatsServerError ? cause : new NatsServerError({ message: String(cause) })

/** A nats-server for the lifetime of the scope. */
export const natsServer = (options: NatsServerOptions): Effect.Effect<RunningNatsServer, NatsServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startNatsServer(options), catch: toNatsServerError }),
    (server) => Effect.promise(() => stopNatsServer(server))
  )
