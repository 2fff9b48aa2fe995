/** JetStream's answer to one publish. */
export type PubAck =
  | { readonly _tag: "Stored"; readonly duplicate: boolean }
  | { readonly _tag: "Refused"; readonly reason: string }
  | { readonly _tag: "Undecodable"; readonly reason: string }

const refused = (error: Record<string, unknown>): PubAck | undefined => {
  const { code, err_code, description } = error
  if (typeof code !== "number" || typeof description !== "string") return undefined
  if (err_code !== undefined && typeof err_code !== "number") return undefined
  return { _tag: "Refused", reason: `${code}${err_code === undefined ? "" : `/${err_code}`} ${description}` }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/**
 * Reads an acknowledgement's body. The error comes first: a refusal carries `stream` and `seq` (0) too, and
 * read as a PubAck it would count a lost message as stored. Checked by hand, not with a Schema: this runs
 * once per published event, and a Schema union decode cost the relay a tenth of its time.
 */
export const readPubAck = (text: string): PubAck => {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (cause) {
    return { _tag: "Undecodable", reason: `not JSON: ${String(cause)}` }
  }
  if (!isRecord(body)) return { _tag: "Undecodable", reason: "not an object" }
  if ("error" in body) {
    return (isRecord(body["error"]) ? refused(body["error"]) : undefined) ?? { _tag: "Undecodable", reason: `malformed error ${JSON.stringify(body["error"])}` }
  }
  const { stream, seq, duplicate } = body
  if (typeof stream !== "string" || typeof seq !== "number" || (duplicate !== undefined && typeof duplicate !== "boolean")) {
    return { _tag: "Undecodable", reason: "neither an error nor a PubAck {stream, seq, duplicate?}" }
  }
  return { _tag: "Stored", duplicate: duplicate === true }
}
