import { join } from "node:path"
import { Effect, Layer } from "effect"
import { InstanceRuntime, RuntimeFailed } from "../../src/instanceRuntime.ts"
import * as processRuntime from "../process/processRuntime.ts"
import type { AgentCredentials } from "../natsAuth/natsAccess.ts"
import { DockerRuntimeConfig, ProcessRuntimeConfig } from "./orchestratorConfig.ts"

export type RuntimeChoice = "docker" | "process" | undefined

/**
 * The instance runtime `UMBRA_RUNTIME` names, or, unset, Docker when an engine answers and local processes
 * otherwise. The choice is logged, so an operator knows what runs the shadows.
 */
export const instanceRuntimeLayer = (
  choice: RuntimeChoice,
  natsUrl: string,
  dataDir: string,
  agentCredentials?: AgentCredentials
): Layer.Layer<InstanceRuntime, RuntimeFailed> => {
  const agent = agentCredentials === undefined ? {} : { agentCredentials }
  const docker = Layer.unwrap(
    Effect.gen(function* () {
      const { network, subnetPool } = yield* DockerRuntimeConfig
      // Loaded only when Docker is tried: dockerode and its dependencies are a second of a start on processes.
      const dockerRuntime = yield* Effect.promise(() => import("../docker/dockerRuntime.ts"))
      if (network === "host") {
        yield* Effect.logWarning("SECURITY: UMBRA_DOCKER_NETWORK=host: instances share the host's network and reach every service on it, other clients' instances included")
      }
      return dockerRuntime.layer({
        natsUrl,
        credentialsDir: join(dataDir, "instance-credentials"),
        placement: () => network,
        ...(subnetPool === undefined ? {} : { subnetPool }),
        ...agent
      })
    }).pipe(Effect.mapError((error) => new RuntimeFailed({ instanceId: "-", message: `docker runtime settings: ${error.message}` })))
  )
  const processes = Layer.unwrap(
    Effect.gen(function* () {
      const settings = yield* ProcessRuntimeConfig
      return processRuntime.layer({ dataDir, natsUrl, ...agent, ...settings })
    }).pipe(Effect.mapError((error) => new RuntimeFailed({ instanceId: "-", message: `process runtime settings: ${error.message}` })))
  )
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
      const { kind } = yield* InstanceRuntime.pipe(Effect.provideContext(context))
      yield* Effect.logInfo("instance runtime chosen", { runtime: kind })
      if (kind === "process") {
        yield* Effect.logWarning(
          "the process runtime isolates nothing: workloads run on this host, share its network, filesystem and one unprivileged user, and are limited only in heap; it is for development"
        )
      }
      return context
    })
  )
}
