import { decode, encodeUser, fmtCreds } from "@nats-io/jwt"
import { createUser, fromSeed, type KeyPair } from "@nats-io/nkeys"
import { Effect, Schema } from "effect"
import { inboxPrefixOf, type Permissions } from "./principals.ts"

/** A user's standard `.creds` file (its JWT and nkey seed) and the public key the server knows it by. */
export interface IssuedUser {
  readonly publicKey: string
  readonly creds: Uint8Array
}

/** A `.creds` file that does not hold a user JWT. */
export class CredsUnreadable extends Schema.TaggedError<CredsUnreadable>()("CredsUnreadable", { message: Schema.String }) {}

/**
 * A new user key, with a JWT signed by the account key that states the same permissions as the server
 * config, so the file is a standard `.creds` any NATS client or tool takes.
 */
export const issueUser = async (name: string, accountSeed: Uint8Array, permissions?: Permissions): Promise<IssuedUser> => {
  const user: KeyPair = createUser()
  const account = fromSeed(accountSeed)
  const jwt = await encodeUser(
    name,
    user,
    account,
    permissions === undefined
      ? {}
      : {
        pub: { allow: [...permissions.publish] },
        sub: { allow: [...permissions.subscribe] },
        ...(permissions.allowResponses ? { resp: { max: 1, ttl: 0 } } : {})
      }
  )
  return { publicKey: user.getPublicKey(), creds: fmtCreds(jwt, user) }
}

const UserClaims = Schema.Struct({
  nats: Schema.Struct({ sub: Schema.optional(Schema.Struct({ allow: Schema.optional(Schema.Array(Schema.String)) })) })
})

/** The inbox prefix a `.creds` file's user may receive on (a tenant's), or undefined for the default inbox. */
export const inboxPrefixOfCreds = (creds: Uint8Array): Effect.Effect<string | undefined, CredsUnreadable> =>
  Effect.try({
    try: () => {
      const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)\s*------END NATS USER JWT------/.exec(new TextDecoder().decode(creds))?.[1]
      if (jwt === undefined) throw new Error("the file holds no NATS user JWT")
      return inboxPrefixOf(Schema.decodeUnknownSync(UserClaims)(decode(jwt)).nats.sub?.allow ?? [])
    },
    catch: (cause) => new CredsUnreadable({ message: cause instanceof Error ? cause.message : String(cause) })
  })
