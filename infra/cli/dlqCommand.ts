import { Effect } from "effect"
import { NatsConnection } from "../nats/connection.ts"
import { listDeadLetters, readDeadLetter, requestRetry, type RetryReply } from "../nats/deadLetters.ts"
import type { DeadLetter } from "../../src/deadLetters.ts"
import { busUnavailable, cliConnectionLayer } from "./busClient.ts"
import { parseOptions } from "./options.ts"
import { exitCodesHelp, failed, print, usage } from "./terminal.ts"

export const dlqHelp = `Usage: umbra dlq ls|show|retry [options]

Dead letters: messages a consumer could not handle, parked in JetStream UMBRA_DLQ with why and where
they came from. Run 'umbra dlq <ls|show|retry> --help' for each. Example:
  umbra dlq ls --consumer saga-connect-client

${exitCodesHelp("done", "it could not (each subcommand's help says when)")}`

export const lsHelp = `Usage: umbra dlq ls [--consumer <name>] [--limit <n>] [--json]

Lists dead letters, oldest first: UMBRA_DLQ seq, when parked, consumer, source stream and seq, reason.
Example:
  umbra dlq ls --consumer orchestrator-instances --json

Options:
  --consumer <name>  only this consumer's (a durable such as orchestrator-instances, or archiver)
  --limit <n>        at most this many (default 1000)
  --json             one JSON document per line, without the message body

${exitCodesHelp("listed (none is no error)", "NATS did not answer")}`

export const showHelp = `Usage: umbra dlq show <seq> [--json]

Prints one dead letter with its original message body. Example:
  umbra dlq show 12

Options:
  --json   one JSON document: the letter's fields and "data" (UTF-8 text, or base64 with "dataEncoding")

${exitCodesHelp("printed", "UMBRA_DLQ holds no such letter, or NATS did not answer")}`

export const retryHelp = `Usage: umbra dlq retry <seq>|--all [--consumer <name>] [--timeout <ms>] [--json]

Asks the running Umbra process that owns the letter's consumer to handle the original message again with
the same handler. A letter that is handled is removed from UMBRA_DLQ; one that fails again stays, and the
new reason is printed. Exits 0 only when every letter was handled. Examples:
  umbra dlq retry 12
  umbra dlq retry --all --consumer saga-connect-client

Options:
  --all              every dead letter (of --consumer, if given), oldest first, up to 1000
  --consumer <name>  with --all: only this consumer's
  --timeout <ms>     how long to wait for each answer (default 30000)
  --json             one JSON document per letter: {"seq", "consumer", "ok", "reason"?}

${exitCodesHelp("every letter was handled", "a letter failed again, was not there, or its consumer's process did not answer")}`

const parseSeq = (text: string | undefined) => {
  const seq = Number(text)
  return Number.isInteger(seq) && seq > 0 ? seq : undefined
}

/** A letter's fields as printed; the body only where asked for. */
const fieldsOf = ({ data, ...fields }: DeadLetter) => ({ ...fields, bytes: data.byteLength })

const bodyOf = (data: Uint8Array) => {
  try {
    return { data: new TextDecoder("utf-8", { fatal: true }).decode(data) }
  } catch {
    return { data: Buffer.from(data).toString("base64"), dataEncoding: "base64" }
  }
}

/** What `show` and `retry` say of a seq UMBRA_DLQ does not hold (never held, retried, or aged out). */
const missing = (seq: number) => failed(`UMBRA_DLQ holds no dead letter ${seq}`)

const line = (letter: DeadLetter) =>
  `${letter.seq}\t${letter.parkedAt}\t${letter.consumer}\t${letter.stream}#${letter.streamSeq}\t${letter.subject}\t${letter.reason}`

const ls = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        consumer: { type: "string" },
        limit: { type: "string", default: "1000" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(lsHelp).pipe(Effect.as(0))
    if (positionals.length > 0) return yield* usage(`unexpected ${positionals.join(" ")}`, lsHelp)
    const limit = parseSeq(values.limit)
    if (limit === undefined) return yield* usage("--limit is a positive number", lsHelp)
    const letters = yield* listDeadLetters(yield* NatsConnection, values.consumer ?? "*", limit)
    for (const letter of letters) yield* print(values.json ? JSON.stringify(fieldsOf(letter)) : line(letter))
    return 0
  })

const show = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: { json: { type: "boolean", default: false }, help: { type: "boolean", default: false } }
    })
    if (values.help) return yield* print(showHelp).pipe(Effect.as(0))
    const seq = parseSeq(positionals[0])
    if (seq === undefined || positionals.length !== 1) return yield* usage("name one dead letter by its UMBRA_DLQ seq", showHelp)
    const letter = yield* readDeadLetter(yield* NatsConnection, seq)
    if (letter === undefined) return yield* missing(seq)
    const body = bodyOf(letter.data)
    yield* print(
      values.json
        ? JSON.stringify({ ...fieldsOf(letter), ...body })
        : Object.entries({ ...fieldsOf(letter), ...body }).map(([key, value]) => `${key}: ${value}`).join("\n")
    )
    return 0
  })

const retry = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        all: { type: "boolean", default: false },
        consumer: { type: "string" },
        timeout: { type: "string", default: "30000" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(retryHelp).pipe(Effect.as(0))
    const timeout = parseSeq(values.timeout)
    if (timeout === undefined) return yield* usage("--timeout is a number of milliseconds", retryHelp)
    const seq = parseSeq(positionals[0])
    if (values.all ? positionals.length > 0 : seq === undefined || positionals.length !== 1) {
      return yield* usage("name one dead letter by its UMBRA_DLQ seq, or --all", retryHelp)
    }
    const nc = yield* NatsConnection
    // Without a seq, --all was given.
    const letters = seq === undefined
      ? yield* listDeadLetters(nc, values.consumer ?? "*", 1000)
      : yield* readDeadLetter(nc, seq).pipe(Effect.map((letter) => (letter === undefined ? [] : [letter])))
    if (seq !== undefined && letters.length === 0) return yield* missing(seq)
    let failed = 0
    for (const letter of letters) {
      // A consumer no process runs now is reported for its letters; the others are still retried.
      const reply = yield* requestRetry(nc, letter, timeout).pipe(
        Effect.catchTag("BusUnavailable", (error): Effect.Effect<RetryReply> => Effect.succeed({ ok: false, reason: error.message }))
      )
      if (!reply.ok) failed++
      const outcome = { seq: letter.seq, consumer: letter.consumer, ...reply }
      yield* print(
        values.json
          ? JSON.stringify(outcome)
          : reply.ok
          ? `${letter.seq}\t${letter.consumer}\thandled; removed from UMBRA_DLQ`
          : `${letter.seq}\t${letter.consumer}\tfailed again: ${reply.reason}`
      )
    }
    return failed === 0 ? 0 : 1
  })

const subcommands: Record<string, { readonly run: (argv: ReadonlyArray<string>) => ReturnType<typeof ls>; readonly help: string }> = {
  ls: { run: ls, help: lsHelp },
  show: { run: show, help: showHelp },
  retry: { run: retry, help: retryHelp }
}

export const dlqCommand = (argv: ReadonlyArray<string>) => {
  const [name, ...rest] = argv
  if (name === "--help" || name === "-h") return print(dlqHelp).pipe(Effect.as(0))
  const sub = name === undefined || !Object.hasOwn(subcommands, name) ? undefined : subcommands[name]!
  if (sub === undefined) return usage(name === undefined ? "name ls, show or retry" : `there is no dlq command '${name}'`, dlqHelp)
  return sub.run(rest).pipe(
    Effect.provide(cliConnectionLayer()),
    Effect.catchTag("BusUnavailable", busUnavailable),
    Effect.catchTag("UsageError", (error) => usage(error.message, sub.help))
  )
}
