import { Result, Schema, SchemaAST } from "effect"

type Check = (input: unknown) => boolean
type Decode = (input: unknown) => { readonly ok: true; readonly value: unknown } | undefined

const passes = (checks: ReadonlyArray<SchemaAST.Check<unknown>> | undefined, ast: SchemaAST.AST): Check | undefined => {
  if (checks === undefined || checks.length === 0) return () => true
  const filters: Array<SchemaAST.Filter<unknown>> = []
  const gather = (list: ReadonlyArray<SchemaAST.Check<unknown>>): boolean =>
    list.every((check) => (check._tag === "FilterGroup" ? gather(check.checks) : (filters.push(check), true)))
  if (!gather(checks)) return undefined
  const options = {}
  return (input) => filters.every((filter) => filter.run(input, ast, options) === undefined)
}

const ok = (value: unknown) => ({ ok: true, value }) as const

/**
 * The decoder of a schema's AST when it is made only of what signals are (strings, numbers and booleans
 * with filters, structs of them, records), running the schema's own filters without its interpreter;
 * undefined for any other AST.
 */
const compile = (ast: SchemaAST.AST): Decode | undefined => {
  if (ast.encoding !== undefined || ("encodingChecks" in ast && (ast.encodingChecks?.length ?? 0) > 0)) return undefined
  const checked = passes(ast.checks, ast)
  if (checked === undefined) return undefined
  switch (ast._tag) {
    case "String":
    case "Number":
    case "Boolean": {
      const type = ast._tag.toLowerCase()
      return (input) => (typeof input === type && checked(input) ? ok(input) : undefined)
    }
    case "Literal": {
      const literal = ast.literal
      if (typeof literal === "bigint") return undefined
      return (input) => (input === literal && checked(input) ? ok(input) : undefined)
    }
    case "Union": {
      // "anyOf", the default: the first member that takes the input, as the schema's own parser does.
      if (ast.options?.mode === "oneOf") return undefined
      const members = ast.types.map(compile)
      if (members.some((member) => member === undefined)) return undefined
      return (input) => {
        for (const member of members) {
          const decoded = member!(input)
          if (decoded !== undefined) return checked(decoded.value) ? decoded : undefined
        }
        return undefined
      }
    }
    case "Arrays": {
      // A list of one kind of item (`Schema.Array`); tuples go through the schema.
      if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0]!)
      if (item === undefined) return undefined
      return (input) => {
        if (!Array.isArray(input)) return undefined
        const output = new Array<unknown>(input.length)
        for (let i = 0; i < input.length; i++) {
          const decoded = item(input[i])
          if (decoded === undefined) return undefined
          output[i] = decoded.value
        }
        return checked(output) ? ok(output) : undefined
      }
    }
    case "Objects": {
      if (ast.propertySignatures.length > 0 && ast.indexSignatures.length === 0) {
        const fields = ast.propertySignatures.map((field) => ({
          name: field.name,
          optional: field.type.context?.isOptional === true,
          decode: typeof field.name === "string" ? compile(field.type) : undefined
        }))
        if (fields.some((field) => field.decode === undefined)) return undefined
        return (input) => {
          if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined
          const output: Record<PropertyKey, unknown> = {}
          for (const { name, optional, decode } of fields) {
            if (!Object.hasOwn(input, name)) {
              if (optional) continue
              return undefined
            }
            const decoded = decode!((input as Record<PropertyKey, unknown>)[name])
            if (decoded === undefined) return undefined
            output[name] = decoded.value
          }
          return checked(output) ? ok(output) : undefined
        }
      }
      if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 1) {
        const [index] = ast.indexSignatures
        const key = compile(index!.parameter)
        const value = compile(index!.type)
        if (key === undefined || value === undefined || index!.parameter._tag !== "String") return undefined
        return (input) => {
          if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined
          const output: Record<string, unknown> = {}
          for (const name of Object.keys(input)) {
            const decoded = key(name) && value((input as Record<string, unknown>)[name])
            if (decoded === undefined) return undefined
            output[name] = decoded.value
          }
          return checked(output) ? ok(output) : undefined
        }
      }
      return undefined
    }
    default:
      return undefined
  }
}

/**
 * A decoder of `schema` that gives what `Schema.decodeUnknownResult(schema)` gives, faster for input the
 * schema accepts: when the schema is simple enough to compile (see `compile`), input that passes every one
 * of its filters is taken at once; anything else, and every other schema, goes through the schema itself.
 */
export const compiledDecoder = <S extends Schema.Top>(schema: S) => {
  const decodeWithSchema = Schema.decodeUnknownResult(schema as unknown as Schema.Codec<S["Type"], unknown>)
  const fast = compile(schema.ast)
  const decode = (input: unknown): Result.Result<S["Type"], Schema.SchemaError> => {
    const decoded = fast?.(input)
    return decoded === undefined ? decodeWithSchema(input) : Result.succeed(decoded.value as S["Type"])
  }
  /** Whether the schema compiled (else every input goes through the schema). */
  return Object.assign(decode, { compiled: fast !== undefined })
}
