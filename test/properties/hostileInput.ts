import fc from "fast-check"

/** Strings an attacker or a broken client sends: prototype keys, traversal, control and bidi characters, markup, injection. */
export const hostileString = fc.oneof(
  fc.constantFrom(
    "",
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "../../etc/passwd",
    "/etc/shadow",
    "..",
    ".",
    "\u0000",
    "a\u0000b",
    "\u202eevil",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "${process.exit()}",
    "%s%n%x",
    "umbra.cmd.other.ConnectClient",
    "*",
    ">",
    "🙂".repeat(40),
    "A",
    "c1 ",
    " c1",
    "C1",
    "-c1",
    "c".repeat(64),
    "c".repeat(65)
  ),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 })
)

/** Characters a NATS subject token may hold that an Umbra token may not: the token reaches the gateway, which must refuse it. */
const tokenHostileChar = fc.constantFrom(..."ABCZ$%'\"\\/()[]{}<=~`!@#^&|,;:?+üé☃🙂".split(""))

/** A NATS-publishable subject token (no `.`, `*`, `>` or whitespace) that is not an Umbra token. */
export const hostileToken = fc.oneof(
  fc.string({ unit: tokenHostileChar, minLength: 1, maxLength: 30 }),
  fc.tuple(fc.constantFrom("a", "acme"), fc.string({ unit: tokenHostileChar, minLength: 1, maxLength: 5 })).map(([head, tail]) => head + tail),
  fc.integer({ min: 65, max: 300 }).map((n) => "t".repeat(n)),
  fc.constantFrom("-acme", "_acme", "Acme", "ACME")
)

/** Numbers as JSON text: past a double (`1e999` parses to Infinity), negative, fractional, past integer precision. */
export const hostileNumberText = fc.constantFrom("1e999", "-1e999", "1e308", "-1", "-0", "0.5", "1e-400", "9007199254740993", "4.2e9", "-2147483649")

/** Any JSON value, numbers included, up to a small depth: the wrong type wherever it lands. */
export const anyJson = fc.jsonValue({ maxDepth: 3 })

const numberHole = "\u0001number\u0001"

/**
 * JSON text of `value` where every `number(...)` placeholder is replaced with its raw number text, so that
 * bodies can carry what `JSON.stringify` never writes (`1e999`).
 */
export const jsonWithNumbers = (value: unknown, numbers: ReadonlyArray<string>) => {
  let index = 0
  return JSON.stringify(value).replaceAll(JSON.stringify(numberHole), () => numbers[index++ % numbers.length] ?? "0")
}
/** A placeholder for `jsonWithNumbers`. */
export const numberSlot = numberHole

/** Runs `task` over `items` with at most `limit` in flight, keeping their order. */
export const boundedAll = async <A, B>(items: ReadonlyArray<A>, limit: number, task: (item: A) => Promise<B>): Promise<Array<B>> => {
  const results: Array<B> = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/**
 * Checks a property and fails with a short report: the seed that replays it (`FC_SEED=<seed>` runs it again)
 * and the failure, cut short (a counterexample of hostile input can be megabytes).
 */
export const checkProperty = async <Ts>(property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, numRuns: number) => {
  const seed = process.env["FC_SEED"] === undefined ? {} : { seed: Number(process.env["FC_SEED"]) }
  const details = await fc.check(property, { numRuns, ...seed })
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    throw new Error(`property failed (FC_SEED=${details.seed}): ${error.slice(0, 3_000)}`)
  }
  return details.numRuns
}

/** One generated value, with the seed that generates it again (`FC_SEED=<seed>`): for input that is sent once, never shrunk. */
export const sampleOnce = <A>(arbitrary: fc.Arbitrary<A>) => {
  const seed = process.env["FC_SEED"] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env["FC_SEED"])
  return { value: fc.sample(arbitrary, { numRuns: 1, seed })[0]!, seed }
}

/** At most `max` characters of `text`, saying how much was cut. */
export const excerpt = (text: string, max = 300) => (text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`)
