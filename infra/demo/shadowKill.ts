import Docker from "dockerode"
import { Effect, Schema } from "effect"
import { type InstanceKey, type InstanceRuntimeShape } from "../../src/instanceRuntime.ts"

/** The shadow could not be killed: it is not running, or the runtime refused. */
export class ShadowKillFailed extends Schema.TaggedError<ShadowKillFailed>()("ShadowKillFailed", { message: Schema.String }) {}

/**
 * Kills an instance behind Umbra's back, as a crash would: SIGKILL to its process group (process runtime) or
 * to its container (Docker). Nothing is recorded: the watchdog has to notice. Returns the runtime id killed.
 */
export const killInstance = (runtime: InstanceRuntimeShape, key: InstanceKey) =>
  Effect.gen(function* () {
    const info = yield* runtime.inspect(key).pipe(Effect.mapError((error) => new ShadowKillFailed({ message: error.message })))
    if (info === undefined || !info.running) return yield* new ShadowKillFailed({ message: `${key.instanceId} is not running` })
    yield* Effect.try({
      try: () => {
        if (runtime.kind === "process") process.kill(-Number(info.runtimeId), "SIGKILL")
      },
      catch: (cause) => new ShadowKillFailed({ message: `cannot kill process group ${info.runtimeId}: ${String(cause)}` })
    })
    if (runtime.kind === "docker") {
      yield* Effect.tryPromise({
        try: () => new Docker().getContainer(info.runtimeId).kill({ signal: "SIGKILL" }),
        catch: (cause) => new ShadowKillFailed({ message: `cannot kill container ${info.runtimeId}: ${String(cause)}` })
      })
    }
    return info.runtimeId
  })
