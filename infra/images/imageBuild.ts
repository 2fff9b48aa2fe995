import { spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Docker from "dockerode"
import { Effect, Schema } from "effect"
import { defaultTemplate } from "../../domain/profile/template.ts"
import { sampleWorkloadEnv } from "../sampleWorkload/workloadEnv.ts"
import { agentImage, sampleWorkloadImage } from "./imageNames.ts"
import { agentRootfs, contextHash, imagePaths, imageUser, type RootfsEntry, writableDir, writablePaths, writeContext } from "./imageContext.ts"

export class ImageBuildFailed extends Schema.TaggedError<ImageBuildFailed>()("ImageBuildFailed", {
  image: Schema.String,
  message: Schema.String
}) {}

export interface ImageBuildOptions {
  /** A local image to build the agent on instead of `scratch` (never pulled: it must exist). */
  readonly base?: string | undefined
  /** Rebuild even when the image exists with the same sources. */
  readonly force?: boolean | undefined
  readonly socketPath?: string | undefined
}

export interface BuiltImage {
  readonly image: string
  readonly id: string
  readonly sizeBytes: number
  /** False when an image with the same sources was there already. */
  readonly built: boolean
  readonly buildMs: number
}

const sourceLabel = "umbra.source-hash"

// The agent and its workload run as an unprivileged user; the state and shared paths it may write are its
// own (a fresh named volume takes the owner of the directory it is mounted on).
const agentDockerfile = (base: string | undefined, hash: string) => `FROM ${base ?? "scratch"}
COPY rootfs/ /
${writablePaths.map((path) => `COPY --chown=${imageUser} ${writableDir}/ ${path}/`).join("\n")}
ENV PATH=/usr/local/bin:/bin:/usr/bin
WORKDIR ${imagePaths.umbra}
USER ${imageUser}
LABEL ${sourceLabel}=${hash}
ENTRYPOINT ["${imagePaths.node}", "${imagePaths.umbra}/infra/cli/agentMain.ts"]
`

// The agent supervises the workload (UMBRA_WORKLOAD): one entrypoint, signals reach both through the agent.
const sampleDockerfile = (hash: string) => `FROM ${agentImage}
ENV UMBRA_WORKLOAD="${imagePaths.node} ${imagePaths.umbra}/infra/sampleWorkload/server.ts" \\
${Object.entries(sampleWorkloadEnv()).map(([key, value]) => `    ${key}=${value} \\\n`).join("")}    UMBRA_STATE_PATHS=${defaultTemplate.statePaths.join(",")} \\
    UMBRA_SHARED_STATE_PATHS=${(defaultTemplate.sharedStatePaths ?? []).join(",")}
LABEL ${sourceLabel}=${hash}
`

const failed = (image: string, what: string) => (cause: unknown) =>
  new ImageBuildFailed({ image, message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

const inspectImage = (docker: Docker, image: string) =>
  Effect.tryPromise({ try: () => docker.getImage(image).inspect(), catch: failed(image, "inspect") }).pipe(
    Effect.map((info) => info as Docker.ImageInspectInfo | undefined),
    Effect.catch((error) => error.message.includes("404") || error.message.includes("No such image") ? Effect.succeed(undefined) : Effect.fail(error))
  )

/** `tar -C dir -c .` streamed into the engine's build endpoint; fails with the build's own error line. */
const runBuild = (docker: Docker, image: string, dir: string) =>
  Effect.tryPromise({
    try: async () => {
      const tar = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] })
      const output = await docker.buildImage(tar.stdout, { t: image, rm: true, forcerm: true })
      const lines = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) =>
        docker.modem.followProgress(output, (error, result) => (error === null ? resolve(result) : reject(error)))
      )
      const error = lines.find((line) => line.error !== undefined)
      if (error !== undefined) throw new Error(error.errorDetail?.message ?? error.error)
    },
    catch: failed(image, "docker build")
  })

const buildOne = Effect.fn("ImageBuild.buildOne")(function* (
  docker: Docker,
  image: string,
  entries: ReadonlyArray<RootfsEntry>,
  dockerfileFor: (hash: string) => string,
  force: boolean
) {
  const hash = yield* Effect.tryPromise({ try: () => contextHash(entries, dockerfileFor("")), catch: failed(image, "reading the sources") })
  const existing = yield* inspectImage(docker, image)
  if (!force && existing !== undefined && existing.Config.Labels?.[sourceLabel] === hash) {
    return { image, id: existing.Id, sizeBytes: existing.Size, built: false, buildMs: 0 } satisfies BuiltImage
  }
  const started = Date.now()
  yield* Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => mkdtemp(join(tmpdir(), "umbra-image-")), catch: failed(image, "temp dir") }),
    (dir) =>
      Effect.tryPromise({ try: () => writeContext(dir, entries, dockerfileFor(hash)), catch: failed(image, "writing the build context") }).pipe(
        Effect.andThen(runBuild(docker, image, dir))
      ),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
  const info = yield* inspectImage(docker, image)
  if (info === undefined) return yield* new ImageBuildFailed({ image, message: "the build reported success but the image is missing" })
  const built: BuiltImage = { image, id: info.Id, sizeBytes: info.Size, built: true, buildMs: Date.now() - started }
  yield* Effect.logInfo("image built").pipe(Effect.annotateLogs({ ...built }))
  return built
})

/**
 * Builds `umbra/agent:latest` (FROM scratch, or FROM `base`) and `umbra/sample-workload:latest` on it, from
 * this machine's files only: nothing is pulled. An image whose sources have not changed is kept.
 */
export const buildImages = Effect.fn("ImageBuild.buildImages")(function* (options: ImageBuildOptions = {}) {
  const docker = new Docker(options.socketPath === undefined ? undefined : { socketPath: options.socketPath })
  const force = options.force === true
  if (options.base !== undefined && (yield* inspectImage(docker, options.base)) === undefined) {
    return yield* new ImageBuildFailed({ image: options.base, message: "the base image is not on this engine (Umbra never pulls)" })
  }
  const entries = yield* Effect.tryPromise({ try: () => agentRootfs(), catch: failed(agentImage, "collecting the rootfs") })
  const agent = yield* buildOne(docker, agentImage, entries, (hash) => agentDockerfile(options.base, hash), force)
  // The agent image's id is part of the sample's sources, so a new agent rebuilds the sample.
  const sample = yield* buildOne(docker, sampleWorkloadImage, [], (hash) => `# ${agent.id}\n${sampleDockerfile(hash)}`, force)
  // A rebuild moves the tags; the images they left would stay behind, untagged, at every source change.
  yield* Effect.tryPromise(() => docker.pruneImages({ filters: JSON.stringify({ dangling: ["true"], label: [sourceLabel] }) })).pipe(
    Effect.ignore
  )
  return [agent, sample] as const
})
