import { Context, type Effect, Schema } from "effect"
import type { InstanceKey } from "./instanceRuntime.ts"

/** An instance's credentials could not be issued or withdrawn. */
export class CredentialsFailed extends Schema.TaggedError<CredentialsFailed>()("CredentialsFailed", {
  instanceId: Schema.String,
  message: Schema.String
}) {}

export interface InstanceCredentialsShape {
  /**
   * Issues the instance credentials of its own on the bus (replacing any it had), valid once this returns:
   * the contents of the file its agent connects with. The runtime hands them over as a file, never in a
   * spec, an event or the environment.
   */
  readonly mint: (key: InstanceKey) => Effect.Effect<Uint8Array, CredentialsFailed>
  /** Withdraws them, refusing them from when this returns; withdrawing what is not there succeeds. */
  readonly revoke: (key: InstanceKey) => Effect.Effect<void, CredentialsFailed>
}

/** Credentials per instance: an agent speaks only for its own instance, and only while the instance exists. */
export class InstanceCredentials extends Context.Service<InstanceCredentials, InstanceCredentialsShape>()("umbra/InstanceCredentials") {}
