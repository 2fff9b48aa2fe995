import { Effect, Layer } from "effect"
import { InstanceRuntime, type RuntimeFailed } from "../../src/instanceRuntime.ts"
import * as dockerRuntime from "../docker/dockerRuntime.ts"
import * as processRuntime from "../process/processRuntime.ts"

export type RuntimeChoice = "docker" | "process" | undefined

/**
 * The instance runtime `UMBRA_RUNTIME` names, or, unset, Docker when an engine answers and local processes
 * otherwise. The choice is logged, so an operator knows what runs the shadows.
 */
export const instanceRuntimeLayer = (
  choice: RuntimeChoice,
  natsUrl: string,
  dataDir: string
): Layer.Layer<InstanceRuntime, RuntimeFailed> => {
  const docker = dockerRuntime.layer({ natsUrl })
  const processes = processRuntime.layer({ dataDir, natsUrl })
  const chosen =
    choice === "docker"
      ? docker
      : choice === "process"
      ? processes
      : docker.pipe(
          Layer.catchCause(() =>
            Layer.unwrap(Effect.logInfo("no Docker engine answers; running shadows as local processes").pipe(Effect.as(processes)))
          )
        )
  return Layer.effectContext(
    Effect.gen(function* () {
      const context = yield* Layer.build(chosen)
      yield* Effect.logInfo("instance runtime chosen", { runtime: (yield* InstanceRuntime.pipe(Effect.provideContext(context))).kind })
      return context
    })
  )
}
