import { Effect } from "effect"
import { parseArgs } from "node:util"
import { buildImages } from "../images/imageBuild.ts"
import { exitCodesHelp, print, usage } from "./terminal.ts"

export const imageHelp = `Usage: umbra image build [--base <image>] [--force] [--json]

Builds, without any registry, the agent image umbra/agent:latest (FROM scratch: this machine's node binary,
its shared libraries, busybox as /bin/sh, Umbra's sources and the packages the agent imports) and the
sample workload umbra/sample-workload:latest on top of it. An image whose sources have not changed is kept.
Example:
  umbra image build --json

Options:
  --base <image>   build the agent on this local image instead of scratch (it is never pulled)
  --force          rebuild even when nothing changed
  --json           print {"images": [{"image", "id", "sizeBytes", "built", "buildMs"}]}

${exitCodesHelp("built, or kept unchanged", "a build failed (the image and why are logged on stderr); is a Docker engine running?")}`

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

export const imageCommand = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function* () {
    const parsed = yield* Effect.result(Effect.try(() => parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        base: { type: "string" },
        force: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })))
    if (parsed._tag === "Failure") return yield* usage(String(parsed.failure.cause), imageHelp)
    const { values, positionals } = parsed.success
    if (values.help) return yield* print(imageHelp).pipe(Effect.as(0))
    if (positionals.length !== 1 || positionals[0] !== "build") return yield* usage("expected: umbra image build", imageHelp)
    const images = yield* buildImages({ base: values.base, force: values.force })
    if (values.json) yield* print(JSON.stringify({ images }))
    else {
      for (const image of images) {
        yield* print(`${image.image}\t${image.id.slice(7, 19)}\t${mib(image.sizeBytes)}\t${image.built ? `built in ${image.buildMs} ms` : "unchanged"}`)
      }
    }
    return 0
  }).pipe(
    Effect.catchTag("ImageBuildFailed", (error) => Effect.logError(`image ${error.image}: ${error.message}`).pipe(Effect.as(1)))
  )
