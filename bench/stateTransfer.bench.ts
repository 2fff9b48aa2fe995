/**
 * `launch.transfer`: MB/s of `StateTransfer.transfer` between two stopped sample-workload containers on
 * Docker, next to a raw copy of the same state path in the same run (the engine's archive of the source
 * piped straight into the target's, with dockerode: no checks, no spool, no verification). Rounds
 * alternate raw and Umbra, each into a target of its own, so that load from other processes falls on both.
 */
import Docker from "dockerode"
import { Effect, Layer, Stream } from "effect"
import { defaultNetwork } from "../domain/profile/template.ts"
import { layer as dockerRuntimeLayer } from "../infra/docker/dockerRuntime.ts"
import { buildImages } from "../infra/images/imageBuild.ts"
import { sampleWorkloadImage } from "../infra/images/imageNames.ts"
import { layer as archiveTransferLayer } from "../infra/stateTransfer/archiveTransfer.ts"
import { InstanceRuntime, type InstanceSpec } from "../src/instanceRuntime.ts"
import { StateTransfer, type TransferReport } from "../src/stateTransfer.ts"
import { cleanupTenant, testTenant } from "../test/support/shadowHarness.ts"
import { type ArchiveEntry, archiveOf } from "../test/support/stateArchives.ts"
import { type Benchmark, type BenchResult, result } from "./benchmark.ts"
import { runQuiet } from "./runQuiet.ts"

const docker = new Docker()
const statePath = "/var/lib/umbra/state"
const rounds = 4
const mib = 1024 * 1024
// 64 MiB of state: eight 7 MiB files and 256 small ones in nested directories.
const largeFiles = 8
const largeBytes = 7 * mib
const smallFiles = 256
const smallBytes = 32 * 1024

/** Content that does not compress to nothing, so that no layer can shortcut it. */
const content = (bytes: number, seed: number) => new Uint8Array(bytes).map((_, i) => (i * 2654435761 + seed) >>> 24)

const state = (): ReadonlyArray<ArchiveEntry> => [
  { name: "./", type: "directory" },
  { name: "./models/", type: "directory" },
  ...Array.from({ length: largeFiles }, (_, i) => ({ name: `./models/part-${i}.bin`, content: content(largeBytes, i) })),
  { name: "./cache/", type: "directory" },
  ...Array.from({ length: smallFiles / 16 }, (_, d) => ({ name: `./cache/${d}/`, type: "directory" as const })),
  ...Array.from({ length: smallFiles }, (_, i) => ({ name: `./cache/${i % (smallFiles / 16)}/entry-${i}.bin`, content: content(smallBytes, 1000 + i) }))
]

const spec = (tenant: string, instanceId: string, role: InstanceSpec["role"]): InstanceSpec => ({
  tenant,
  clientId: "bench",
  instanceId,
  role,
  image: sampleWorkloadImage,
  env: {},
  statePaths: [statePath],
  cpuMillis: 500,
  memoryMiB: 256,
  network: defaultNetwork
})

/** The raw reference: the engine's archive of the source streamed into the target's extraction, unchecked. */
const rawCopy = async (from: string, to: string) => {
  const archive = await docker.getContainer(from).getArchive({ path: `${statePath}/.` })
  await docker.getContainer(to).putArchive(archive, { path: statePath })
}

/** Seeds a source and makes two targets, all stopped; returns the container ids of the source and the raw target. */
const setUp = (tenant: string) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    const created = yield* Effect.forEach(
      [spec(tenant, "shd-bench", "shadow"), spec(tenant, "prd-raw", "production"), spec(tenant, "prd-umbra", "production")],
      (instance) => runtime.create(instance, { start: false })
    )
    yield* runtime.importState({ tenant, instanceId: "shd-bench" }, statePath, Stream.make(yield* archiveOf(state())))
    return { source: created[0]!.runtimeId, rawTarget: created[1]!.runtimeId }
  })

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = performance.now()
    const value = yield* effect
    return { value, ms: performance.now() - started }
  })

const transferRate = async (): Promise<ReadonlyArray<BenchResult>> => {
  const tenant = testTenant("bt")
  try {
    await runQuiet(buildImages().pipe(Effect.orDie))
    const { totals, report } = await runQuiet(
      Effect.gen(function* () {
        const { source, rawTarget } = yield* setUp(tenant)
        const transfer = yield* StateTransfer
        const totals = { raw: 0, umbra: 0 }
        let report: TransferReport | undefined
        for (let round = 0; round < rounds; round++) {
          totals.raw += (yield* timed(Effect.promise(() => rawCopy(source, rawTarget)))).ms
          const measured = yield* timed(
            transfer.transfer({ tenant, fromInstanceId: "shd-bench", toInstanceId: "prd-umbra", paths: [statePath], identityFiles: [], maxBytes: 256 * mib })
          )
          totals.umbra += measured.ms
          report = measured.value
        }
        return { totals, report: report! }
      }).pipe(Effect.provide(archiveTransferLayer().pipe(Layer.provideMerge(dockerRuntimeLayer()))))
    )
    const megabytes = (report.bytes * rounds) / 1e6
    return [
      result(
        "launch.transfer",
        "MB/s",
        megabytes / (totals.umbra / 1000),
        megabytes / (totals.raw / 1000),
        `StateTransfer.transfer (Docker runtime) of one state path, ${(report.bytes / mib).toFixed(0)} MiB of content in ${report.files} files ` +
          `(${largeFiles} × ${largeBytes / mib} MiB, ${smallFiles} × ${smallBytes / 1024} KiB in ${smallFiles / 16 + 2} directories), between two stopped sample-workload containers: ` +
          `export → entry checks, SHA-256 and re-pack → spool to disk → import → export again to verify every checksum (the engine archives the state twice); ` +
          `baseline: dockerode getArchive(src:${statePath}/.) piped straight into putArchive(dst:${statePath}), no checks; ` +
          `${rounds} rounds alternating raw and Umbra, each into a target of its own; MB = 10^6 bytes of file content; ` +
          `Umbra ${Math.round(totals.umbra / rounds)} ms per transfer, raw ${Math.round(totals.raw / rounds)} ms`
      )
    ]
  } finally {
    await Effect.runPromise(cleanupTenant(tenant))
  }
}

export const benchmarks: ReadonlyArray<Benchmark> = [{ name: "launch.transfer", run: transferRate }]
