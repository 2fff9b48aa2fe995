import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { fold } from "../../domain/decider.ts"
import type { ClientId, InstanceId } from "../../domain/ids.ts"
import { preloadFiles, profileDecider } from "../../domain/profile/profile.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { DependencyReport } from "../../domain/signals.ts"
import { deciderSpec } from "../support/deciderSpec.ts"

const clientId = "c1" as ClientId
const instanceId = "shd-1" as InstanceId
const spec = deciderSpec(profileDecider)
const template = { ...defaultTemplate, dependencies: ["libpq", "openssl"] }
const created = {
  _tag: "ProfileCreated",
  clientId,
  tier: "basic",
  expected: tierDefaults.basic,
  basis: "tier",
  template,
  network: defaultNetwork
} as const
const libc = { path: "/usr/lib/x86_64-linux-gnu/libc.so.6", kind: "library", bytes: 1_922_136 } as const
const dataset = { path: "/srv/app/dataset.bin", kind: "file", bytes: 4096 } as const
const cache = { path: "/var/lib/umbra/state/cache.json", kind: "state", bytes: 120 } as const
const inferred = { _tag: "DependenciesInferred", clientId, instanceId, files: [libc, dataset], added: [dataset.path, libc.path], dropped: [] } as const

describe("dependencies inferred from use", () => {
  it.effect("records what a warm-up loaded, with what it added", () =>
    spec.given([created]).when({ _tag: "RecordDependencies", clientId, instanceId, files: [libc, dataset] }).then([inferred]))

  it.effect("records what a later warm-up no longer loads as dropped", () =>
    spec
      .given([created, inferred])
      .when({ _tag: "RecordDependencies", clientId, instanceId, files: [libc, cache] })
      .then([{ _tag: "DependenciesInferred", clientId, instanceId, files: [libc, cache], added: [cache.path], dropped: [dataset.path] }]))

  it.effect("records nothing when the same files are loaded again", () =>
    spec.given([created, inferred]).when({ _tag: "RecordDependencies", clientId, instanceId, files: [dataset, { ...libc, bytes: 1 }] }).then([]))

  it.effect("refuses a client with no profile", () =>
    spec.given([]).when({ _tag: "RecordDependencies", clientId, instanceId, files: [libc] }).thenFails("NotFound"))

  it("leaves the template's own dependencies as the tenant gave them", () => {
    const state = fold(profileDecider, [created, inferred])
    assert.strictEqual(state._tag, "Active")
    if (state._tag === "Active") assert.deepStrictEqual(state.template.dependencies, ["libpq", "openssl"])
  })

  it("preloads inferred libraries and files, not state (it arrives by transfer)", () => {
    const state = fold(profileDecider, [created, { ...inferred, files: [libc, dataset, cache] }])
    assert.deepStrictEqual(preloadFiles(state), [libc.path, dataset.path])
    assert.deepStrictEqual(preloadFiles(fold(profileDecider, [created])), [])
  })

  it("refuses a report naming relative paths, `..` or too many files", () => {
    const report = (files: ReadonlyArray<unknown>) => Schema.decodeUnknownResult(DependencyReport)({ instanceId, at: "2026-12-05T08:00:00Z", files })
    assert.strictEqual(report([libc])._tag, "Success")
    assert.strictEqual(report([{ ...libc, path: "lib/libc.so" }])._tag, "Failure")
    assert.strictEqual(report([{ ...libc, path: "/usr/../etc/shadow" }])._tag, "Failure")
    assert.strictEqual(report(Array.from({ length: 513 }, (_, i) => ({ ...libc, path: `/l/${i}` })))._tag, "Failure")
  })
})
