import { readFile } from "node:fs/promises"
import { Effect, Schema } from "effect"

/** The credentials file the runtime handed over (NATS_CREDS) could not be read. */
export class CredentialsUnreadable extends Schema.TaggedError<CredentialsUnreadable>()("CredentialsUnreadable", { message: Schema.String }) {}

/** The instance's `.creds` file, read once at start (the agent's image holds no NATS auth code beyond the client). */
export const readCredentialsFile = (path: string) =>
  Effect.tryPromise({ try: () => readFile(path), catch: (cause) => new CredentialsUnreadable({ message: `cannot read NATS_CREDS ${path}: ${String(cause)}` }) })
