import { Cause, Layer, Logger, type LogLevel, References } from "effect"
import { pino } from "pino"
import pretty from "pino-pretty"
import { redactDeep } from "./redactCredentials.ts"

export type LogFormat = "json" | "pretty"

export interface LoggingOptions {
  readonly level: string
  /** Pretty when asked for, or when stderr is a terminal and nothing was asked; JSON otherwise. */
  readonly format?: LogFormat | undefined
}

const levels: Record<LogLevel.LogLevel, "fatal" | "error" | "warn" | "info" | "debug" | "trace" | undefined> = {
  All: "trace",
  Fatal: "fatal",
  Error: "error",
  Warn: "warn",
  Info: "info",
  Debug: "debug",
  Trace: "trace",
  None: undefined
}

// Secrets never reach a log line, wherever a command or an adapter puts them.
const redact = ["*.password", "*.token", "*.secret", "*.credentials", "*.authorization", "password", "token", "secret"]

/**
 * Umbra's pino settings: named secret fields are redacted, and so are the credentials of any URL or
 * connection string in any string of a line (its message included), wherever they were put.
 */
export const pinoOptions = (level: string): pino.LoggerOptions => ({
  level,
  redact,
  base: { service: "umbra" },
  hooks: {
    logMethod(args, method) {
      method.apply(this, args.map((arg) => redactDeep(arg)) as Parameters<typeof method>)
    }
  }
})

/** A pino logger writing to stderr, so that stdout stays for what a command prints. */
export const makePino = (options: LoggingOptions): pino.Logger => {
  const format = options.format ?? (process.stderr.isTTY ? "pretty" : "json")
  const base = pinoOptions(options.level)
  return format === "pretty"
    ? pino(base, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY }))
    : pino(base, pino.destination({ dest: 2, sync: true }))
}

/** Effect's log calls, with their annotations (tenant, command and correlation ids …) as pino fields. */
export const pinoLogger = (log: pino.Logger) =>
  Logger.make(({ message, logLevel, cause, fiber }) => {
    const level = levels[logLevel]
    if (level === undefined || !log.isLevelEnabled(level)) return
    const fields: Record<string, unknown> = { ...fiber.getRef(References.CurrentLogAnnotations) }
    if (cause.reasons.length > 0) fields["err"] = Cause.pretty(cause)
    // Objects passed to a log call become fields of the line; everything else makes up its message.
    const words: Array<string> = []
    for (const part of Array.isArray(message) ? message : [message]) {
      if (typeof part === "object" && part !== null && !Array.isArray(part)) Object.assign(fields, part)
      else words.push(typeof part === "string" ? part : JSON.stringify(part))
    }
    log[level](fields, words.join(" "))
  })

/** Replaces Effect's default logger with pino for a whole program. */
export const layer = (options: LoggingOptions): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([pinoLogger(makePino(options))]),
    Layer.succeed(References.MinimumLogLevel, toEffectLevel(options.level))
  )

const toEffectLevel = (level: string): LogLevel.LogLevel => {
  const found = (Object.keys(levels) as Array<LogLevel.LogLevel>).find((key) => key.toLowerCase() === level.toLowerCase())
  return found ?? "Info"
}
