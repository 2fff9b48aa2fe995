/** `scheme://user:password@` (the password may hold `@`), or `scheme://token@`: the user info of a URL. */
const userInfo = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*)(:[^\s/?#]*)?@/gi
/** A query parameter or connection-string option that carries a secret. */
const secretOption = /([?&;](?:password|passwd|pass|pwd|token|secret|auth_token|access_token|api_key|apikey)=)[^&;#\s]*/gi

/**
 * The text with the credentials of every URL or connection string in it masked, so it can be logged or
 * put in an error: `nats://u:secret@h` → `nats://u:***@h`, `nats://token@h` → `nats://***@h`,
 * `?password=x` → `?password=***`.
 */
export const redactCredentials = (text: string): string =>
  text
    .replace(userInfo, (_, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? `${scheme}***@` : `${scheme}${user}:***@`
    )
    .replace(secretOption, "$1***")

/** Deeper than any log line Umbra writes; past it a value is logged as it is. */
const maxDepth = 8

/** A log value with `redactCredentials` applied to every string in it (errors become their name, message and stack). */
export const redactDeep = (value: unknown, depth = 0): unknown => {
  if (typeof value === "string") return redactCredentials(value)
  if (depth >= maxDepth || typeof value !== "object" || value === null) return value
  if (value instanceof Error) {
    return { type: value.name, message: redactCredentials(value.message), ...(value.stack === undefined ? {} : { stack: redactCredentials(value.stack) }) }
  }
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1))
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, depth + 1)]))
}

/**
 * Runs `run` with `console.warn` redacting what it prints: for libraries that warn with a whole connection
 * string (the KurrentDB client on an unknown option). Only for synchronous calls, so nothing else warns meanwhile.
 */
export const withRedactedWarnings = <A>(run: () => A): A => {
  const warn = console.warn
  console.warn = (...args: Array<unknown>) => warn(...args.map((arg) => redactDeep(arg)))
  try {
    return run()
  } finally {
    console.warn = warn
  }
}
