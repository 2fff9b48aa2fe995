import { readdir } from "node:fs/promises"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Schema, SchemaAST } from "effect"
import { DomainEvent, schemaVersionOf } from "../../domain/catalog.ts"
import { accessOf, DomainCommand } from "../../domain/commands.ts"

/**
 * The README's catalogue of every command and event with its fields, rendered from the schemas themselves
 * (the `DomainCommand` and `DomainEvent` unions), so that the text cannot drift from the code: a test
 * renders it again and compares.
 */

type Named = ReadonlyMap<Schema.Top, string>

/** The members of a union of unions, flattened, in declaration order. */
const membersOf = (schema: Schema.Top): ReadonlyArray<Schema.Top> =>
  "members" in schema ? (schema.members as ReadonlyArray<Schema.Top>).flatMap(membersOf) : [schema]

/** A check in a few words: `/regex/`, `length ≤ 64`, `1–4094`; undefined for the ones the type already says. */
const checkText = (check: SchemaAST.Check<unknown>): string | undefined => {
  const expected = check.annotations?.expected
  if (typeof expected !== "string") return "checked further"
  const rules: ReadonlyArray<readonly [RegExp, (...groups: ReadonlyArray<string>) => string | undefined]> = [
    [/^a string matching the RegExp (.*)$/, (source) => `\`/${source}/\``],
    [/^a value with a length of at most (\d+)$/, (n) => `length ≤ ${n}`],
    [/^a value with a length of at least (\d+)$/, (n) => `length ≥ ${n}`],
    [/^a value between (\S+) and (\S+)$/, (min, max) => `${min}–${max}`],
    [/^a value greater than or equal to (\S+)$/, (min) => `≥ ${min}`],
    [/^an integer$/, () => undefined],
    [/^a finite number$/, () => undefined]
  ]
  for (const [pattern, text] of rules) {
    const match = pattern.exec(expected)
    if (match !== null) return text(...match.slice(1))
  }
  return expected
}

const isInteger = (ast: SchemaAST.AST) => (ast.checks ?? []).some((check) => check.annotations?.expected === "an integer")

/** What a schema wraps: an optional key's or a brand's schema, an array's items, a record's keys and values. */
const inner = (schema: Schema.Top, key: "schema" | "value" | "key"): Schema.Top | undefined =>
  key in schema ? ((schema as unknown as Record<string, Schema.Top>)[key]) : undefined

/** A field's own type: an optional key's schema is the type it marks optional. */
const fieldType = (field: Schema.Top): Schema.Top => (field.ast.context?.isOptional === true ? inner(field, "schema") ?? field : field)

/** A named type's name: a `domain/` export, else a brand's identifier. */
const nameOf = (named: Named, schema: Schema.Top): string | undefined =>
  named.get(schema) ?? ("identifier" in schema && typeof schema.identifier === "string" ? schema.identifier : undefined)

/** A type as a reader of the wire format needs it: the encoded side, named types by name. */
const typeText = (named: Named, schema: Schema.Top, top = false): string => {
  const name = top ? undefined : nameOf(named, schema)
  if (name !== undefined) return `\`${name}\``
  const ast = schema.ast.encoding === undefined ? schema.ast : SchemaAST.toEncoded(schema.ast)
  const checks = (ast.checks ?? []).flatMap((check) => checkText(check) ?? [])
  const withChecks = (base: string) => (checks.length === 0 ? base : `${base} (${checks.join(", ")})`)
  // A wrapper that adds no check of its own (a brand without a name of ours) says what it wraps.
  const wrapped = inner(schema, "schema")
  if (wrapped !== undefined && schema.ast.encoding === undefined && (ast.checks ?? []).length === (wrapped.ast.checks ?? []).length) {
    return typeText(named, wrapped)
  }
  switch (ast._tag) {
    case "String":
      return withChecks("string")
    case "Number":
      return withChecks(isInteger(ast) ? "integer" : "number")
    case "Boolean":
      return "boolean"
    case "Null":
      return "null"
    case "Unknown":
    case "Any":
      return "any JSON"
    case "Literal":
      return `\`${JSON.stringify(ast.literal)}\``
    case "Union":
      return withChecks(
        "members" in schema
          ? (schema.members as ReadonlyArray<Schema.Top>).map((member) => typeText(named, member)).join(" \\| ")
          : ast.types.map((member) => (member._tag === "Literal" ? `\`${JSON.stringify(member.literal)}\`` : member._tag)).join(" \\| ")
      )
    case "Arrays": {
      const items = inner(schema, "value")
      // An array that was checked keeps its items only as schema nodes.
      const itemTypes = items === undefined ? ast.rest.map((item) => typeText(named, Schema.make(item))) : [typeText(named, items)]
      return withChecks(`list of ${itemTypes.join(", ")}`)
    }
    case "Objects": {
      const key = inner(schema, "key")
      const value = inner(schema, "value")
      if (key !== undefined && value !== undefined) return withChecks(`map of ${typeText(named, key)} → ${typeText(named, value)}`)
      return withChecks(`{ ${fieldsText(named, schema)} }`)
    }
    default:
      return ast._tag
  }
}

const fieldsOf = (schema: Schema.Top): ReadonlyArray<readonly [string, Schema.Top]> =>
  "fields" in schema ? Object.entries(schema.fields as Record<string, Schema.Top>).filter(([name]) => name !== "_tag") : []

const fieldsText = (named: Named, schema: Schema.Top): string =>
  fieldsOf(schema)
    .map(([name, field]) => `\`${name}\`${field.ast.context?.isOptional === true ? "?" : ""}: ${typeText(named, fieldType(field))}`)
    .join(", ") || "no fields"

/** The named types the fields refer to, found again inside the named types themselves. */
const referencedNames = (named: Named, roots: ReadonlyArray<Schema.Top>): ReadonlyArray<readonly [string, Schema.Top]> => {
  const found = new Map<string, Schema.Top>()
  const visit = (schema: Schema.Top, top: boolean): void => {
    const name = top ? undefined : nameOf(named, schema)
    if (name !== undefined) {
      if (found.has(name)) return
      found.set(name, schema)
      return visit(schema, true)
    }
    const children = [
      ...fieldsOf(schema).map(([, field]) => fieldType(field)),
      ...("members" in schema ? (schema.members as ReadonlyArray<Schema.Top>) : []),
      ...(["schema", "value", "key"] as const).flatMap((key) => inner(schema, key) ?? [])
    ]
    children.forEach((child) => visit(child, false))
  }
  roots.forEach((root) => visit(root, true))
  return [...found].sort(([a], [b]) => a.localeCompare(b))
}

/**
 * Every schema exported by a `domain/` module, by name (the first module in path order that exports it),
 * except the commands and events themselves and the unions of them.
 */
export const namedDomainSchemas = async (domainDir: string, exclude: ReadonlyArray<Schema.Top>): Promise<Named> => {
  const files = (await readdir(domainDir, { recursive: true })).filter((file) => file.endsWith(".ts")).sort()
  const excluded = new Set(exclude)
  const isMessages = (schema: Schema.Top): boolean =>
    excluded.has(schema) || ("members" in schema && (schema.members as ReadonlyArray<Schema.Top>).every(isMessages))
  const named = new Map<Schema.Top, string>()
  for (const file of files) {
    const module: Record<string, unknown> = await import(pathToFileURL(join(domainDir, file)).href)
    for (const [name, value] of Object.entries(module)) {
      if (!Schema.isSchema(value) || isMessages(value) || named.has(value)) continue
      named.set(value, name)
    }
  }
  return named
}

const tagOf = (schema: Schema.Top): string => {
  const tag = (schema.ast as SchemaAST.Objects).propertySignatures.find((property) => property.name === "_tag")?.type
  return tag?._tag === "Literal" ? String(tag.literal) : "?"
}

/** The catalogue as Markdown: commands (with who may send them), events (with their version), and the types they name. */
export const renderCatalogue = (named: Named): string => {
  const commands = membersOf(DomainCommand)
  const events = membersOf(DomainEvent)
  const line = (schema: Schema.Top, note: string) =>
    `- \`${tagOf(schema)}\` (${note}): ${fieldsText(named, schema)}`
  const publicCount = commands.filter((command) => accessOf(tagOf(command)) === "public").length
  const types = referencedNames(named, [...commands, ...events])
  return [
    `### Commands (${commands.length}: ${publicCount} public, ${commands.length - publicCount} internal)`,
    "",
    "The body's `data` (the `commandId` and `correlationId` are the envelope's); `?` marks a field the sender may leave out.",
    "",
    ...commands.map((command) => line(command, accessOf(tagOf(command)) ?? "?")),
    "",
    `### Events (${events.length})`,
    "",
    "The event's `data`, inside the envelope; the version is the `schemaVersion` a writer stamps today.",
    "",
    ...events.map((event) => line(event, `v${schemaVersionOf(tagOf(event) as DomainEvent["_tag"])}`)),
    "",
    "### Types the fields name",
    "",
    ...types.map(([name, schema]) => `- \`${name}\`: ${typeText(named, schema, true)}`)
  ].join("\n")
}

/** Every command and event schema, which `namedDomainSchemas` must not take for a named type. */
export const messageSchemas = (): ReadonlyArray<Schema.Top> => [...membersOf(DomainCommand), ...membersOf(DomainEvent)]

export const catalogueStart = "<!-- catalogue:start — generated from domain/commands.ts and domain/catalog.ts by `npm run catalogue`; test/docs/catalogue.unit.test.ts fails when it differs -->"
export const catalogueEnd = "<!-- catalogue:end -->"

/** `readme` with the text between the markers replaced by `catalogue`; fails when the markers are missing. */
export const withCatalogue = (readme: string, catalogue: string): string => {
  const start = readme.indexOf(catalogueStart)
  const end = readme.indexOf(catalogueEnd)
  if (start < 0 || end < start) throw new Error(`README.md has no ${catalogueStart} … ${catalogueEnd} section`)
  return `${readme.slice(0, start + catalogueStart.length)}\n\n${catalogue}\n\n${readme.slice(end)}`
}
