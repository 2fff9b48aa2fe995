import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { launchServicesLayer } from "../../infra/serve/controlPlane.ts"
import { StateTransfer } from "../../src/stateTransfer.ts"
import { fakeRuntimeLayer, makeFakeRuntime } from "../support/fakeRuntime.ts"

it.effect("the launch services remove the spools a killed control plane left under the data directory as they start", () =>
  Effect.gen(function* () {
    const dataDir = mkdtempSync(join(tmpdir(), "umbra-spools-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
    const leftover = join(dataDir, "spool", "umbra-transfer-Xq3v9a")
    mkdirSync(leftover, { recursive: true })
    writeFileSync(join(leftover, "0.tar"), new Uint8Array(64 * 1024))
    const unrelated = join(dataDir, "spool", "notes.txt")
    writeFileSync(unrelated, "not a spool")

    yield* StateTransfer.pipe(Effect.provide(launchServicesLayer(dataDir).pipe(Layer.provide(fakeRuntimeLayer(makeFakeRuntime())))))
    assert.isFalse(existsSync(leftover), "the leftover spool is gone")
    assert.isTrue(existsSync(unrelated), "only spools are removed")
  }).pipe(Effect.scoped))
