import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { fold } from "../../domain/decider.ts"
import { profileAggregate } from "../../domain/profile/profile.ts"
import { randomUUID } from "node:crypto"
import { decodeEvent, encodeEvent } from "../../domain/catalog.ts"
import type { ClientId } from "../../domain/ids.ts"
import { tierDefaults } from "../../domain/profile/resources.ts"
import { makeCommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { defaultFoldLimits } from "../../src/eventStore/foldedStreams.ts"
import { command } from "../support/commands.ts"
import { countingStore } from "../support/countingStore.ts"

const stream = "profile-acme.c1"
const length = 20_000

const refine = (i: number) => command("RefineProfile", { clientId: "c1", expected: { cpuMillis: 1000 + i }, reason: `step ${i}` })

/**
 * A profile stream of `length` events: most appended as they are, the last ones through a handler, which
 * writes a snapshot as the stream's revision passes a multiple of `snapshotEvery`.
 */
const longStream = Effect.gen(function* () {
  const store = yield* EventStore
  const handler = yield* makeCommandHandler(defaultFoldLimits)
  yield* handler.handle(command("CreateProfile", { clientId: "c1", tier: "basic" }))
  const direct = length - 100
  for (let from = 1; from < direct; from += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, direct - from) }, (_, k) => {
      const i = from + k
      const event = encodeEvent({ _tag: "ProfileRefined", clientId: "c1" as ClientId, expected: { cpuMillis: 1000 + i, memoryMiB: 512, storageGiB: 10 }, previous: tierDefaults.basic, reason: `step ${i}`, source: "manual" })
      return { id: randomUUID(), at: "2026-11-30T12:00:00.000Z", tenant: "acme", correlationId: "c", causationId: randomUUID(), ...event }
    })
    yield* store.append(stream, from - 1, batch)
  }
  for (let i = direct; i < length; i++) yield* handler.handle(refine(i))
})

/** What deciding on a fold of the whole stream gives, for comparison. */
const decidedOnFullFold = (next: ReturnType<typeof refine>) =>
  Effect.gen(function* () {
    const history = yield* EventStore.use((store) => store.readStream(stream))
    const events = yield* Effect.forEach(history, decodeEvent)
    const state = fold(profileAggregate.decider, events.filter((e) => e._tag.startsWith("Profile")) as never)
    return yield* profileAggregate.decider.decide(next.command as never, state, { tenant: "acme", at: next.at })
  })

/** A cold handler (nothing cached) on a counting store handles one more command; what did it read? */
const coldCommand = Effect.gen(function* () {
  const counts = { reads: 0, events: 0 }
  const next = refine(length + 7)
  const expected = yield* decidedOnFullFold(next)
  const outcome = yield* Effect.gen(function* () {
    const handler = yield* makeCommandHandler(defaultFoldLimits)
    return yield* handler.handle(next)
  }).pipe(Effect.provide(countingStore(counts)))
  const decided = yield* Effect.forEach(outcome.events, decodeEvent)
  return { read: counts.events, decided, expected }
})

describe("command state from snapshots", () => {
  it.effect(`a command on a stream of ${length} events reads only the snapshot and the events after it`, () =>
    Effect.gen(function* () {
      yield* longStream
      const snapshot = yield* EventStore.use((store) => store.readSnapshot(stream))
      assert.isDefined(snapshot)
      assert.isAtLeast(snapshot!.revision, length - defaultFoldLimits.snapshotEvery)
      const { read, decided, expected } = yield* coldCommand
      assert.isAtMost(read, defaultFoldLimits.snapshotEvery, `read ${read} events`)
      assert.deepStrictEqual<unknown>(decided, expected, "the same decision as on a fold of the whole stream")
    }).pipe(Effect.provide(memoryStore)), 120_000)

  it.effect("a snapshot of another decider version, or one that does not decode, is ignored and the stream folded", () =>
    Effect.gen(function* () {
      yield* longStream
      const store = yield* EventStore
      const kept = (yield* store.readSnapshot(stream))!
      const bogus = { ...(kept.state as object), state: { _tag: "Active", tier: "basic", expected: { cpuMillis: 1, memoryMiB: 1, storageGiB: 1 } } }
      // A newer revision, so the store keeps it; the state an older decider would have written is not trusted.
      yield* store.writeSnapshot(stream, { revision: kept.revision + 1, version: profileAggregate.snapshot!.version + 1, state: kept.state })
      const otherVersion = yield* coldCommand
      assert.isAtLeast(otherVersion.read, length, "the whole stream was folded")
      assert.deepStrictEqual<unknown>(otherVersion.decided, otherVersion.expected)

      yield* store.writeSnapshot(stream, { revision: kept.revision + 2, version: profileAggregate.snapshot!.version, state: bogus })
      const undecodable = yield* coldCommand
      assert.isAtLeast(undecodable.read, length, "the whole stream was folded")
      assert.deepStrictEqual<unknown>(undecodable.decided, undecodable.expected)
    }).pipe(Effect.provide(memoryStore)), 120_000)
})
