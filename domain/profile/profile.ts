import { Effect, Schema } from "effect"
import type { Aggregate, Decider } from "../decider.ts"
import { NotFound } from "../errors.ts"
import { ClientId, InstanceId } from "../ids.ts"
import { DependencyFile, maxDependencyFiles } from "../signals.ts"
import { Resources, Tier, tierDefaults } from "./resources.ts"
import { defaultNetwork, defaultTemplate, Network, Template, TenantTemplate } from "./template.ts"

export const CreateProfile = Schema.TaggedStruct("CreateProfile", {
  clientId: ClientId,
  tier: Tier,
  template: Schema.optionalKey(Template),
  network: Schema.optionalKey(Network)
})
const refinement = {
  clientId: ClientId,
  expected: Schema.Struct({
    cpuMillis: Schema.optionalKey(Resources.fields.cpuMillis),
    memoryMiB: Schema.optionalKey(Resources.fields.memoryMiB),
    storageGiB: Schema.optionalKey(Resources.fields.storageGiB)
  }),
  reason: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(512))
}
/** A tenant's manual override of its profile. */
export const RefineProfile = Schema.TaggedStruct("RefineProfile", refinement)
/** The scaling engine's refinement: a command of its own, internal, so that no tenant's override passes for one. */
export const ScaleProfile = Schema.TaggedStruct("ScaleProfile", refinement)
export const SetTemplate = Schema.TaggedStruct("SetTemplate", { clientId: ClientId, template: TenantTemplate })
export const SetNetwork = Schema.TaggedStruct("SetNetwork", { clientId: ClientId, network: Network })
const DependencyFiles = Schema.Array(DependencyFile).check(Schema.isMaxLength(maxDependencyFiles))
/** The dependency recorder's: what a shadow's agent saw the client's workload load and open while it warmed up. */
export const RecordDependencies = Schema.TaggedStruct("RecordDependencies", { clientId: ClientId, instanceId: InstanceId, files: DependencyFiles })
export const ProfileCommand = Schema.Union([CreateProfile, RefineProfile, ScaleProfile, SetTemplate, SetNetwork, RecordDependencies])
export type ProfileCommand = typeof ProfileCommand.Type

export const ProfileCreated = Schema.TaggedStruct("ProfileCreated", {
  clientId: ClientId,
  tier: Tier,
  expected: Resources,
  /** `tier`: the tier's defaults; `history`: what this client's profile had learned before it reconnected. */
  basis: Schema.Literals(["tier", "history"]),
  template: Template,
  network: Network
})
/** Who refined a profile: Umbra's scaling engine (ScaleProfile), or the tenant by hand (RefineProfile). */
export const RefinementSource = Schema.Literals(["scaling", "manual"])
export type RefinementSource = typeof RefinementSource.Type

/** Version 2 (version 1 had no `source`: see `profileRefinedV1.ts`). */
export const ProfileRefined = Schema.TaggedStruct("ProfileRefined", {
  clientId: ClientId,
  expected: Resources,
  previous: Resources,
  reason: Schema.String,
  source: RefinementSource
})
export const TemplateChanged = Schema.TaggedStruct("TemplateChanged", { clientId: ClientId, template: Template })
export const NetworkChanged = Schema.TaggedStruct("NetworkChanged", { clientId: ClientId, network: Network })
const Paths = Schema.Array(Schema.String).check(Schema.isMaxLength(maxDependencyFiles))
/**
 * The dependencies inferred from use, as of the last warm-up reported (`files`), with what that changed. They
 * stand beside the template's `dependencies`, which the tenant gave and inference never changes.
 */
export const DependenciesInferred = Schema.TaggedStruct("DependenciesInferred", {
  clientId: ClientId,
  instanceId: InstanceId,
  files: DependencyFiles,
  added: Paths,
  dropped: Paths
})
export const ProfileEvent = Schema.Union([ProfileCreated, ProfileRefined, TemplateChanged, NetworkChanged, DependenciesInferred])
export type ProfileEvent = typeof ProfileEvent.Type

export const ProfileState = Schema.Union([
  Schema.TaggedStruct("Absent", {}),
  Schema.TaggedStruct("Active", {
    tier: Tier,
    expected: Resources,
    template: Template,
    network: Network,
    // Optional: a snapshot from before inference is still right (no DependenciesInferred came before it).
    inferred: Schema.optionalKey(DependencyFiles)
  })
])
export type ProfileState = typeof ProfileState.Type

const missing = (clientId: string) => new NotFound({ message: `client ${clientId} has no profile`, details: { clientId } })

const sameResources = (a: Resources, b: Resources) =>
  a.cpuMillis === b.cpuMillis && a.memoryMiB === b.memoryMiB && a.storageGiB === b.storageGiB

const decideCreate = (command: typeof CreateProfile.Type, state: ProfileState): ReadonlyArray<ProfileEvent> => {
  const fromHistory = state._tag === "Active" && state.tier === command.tier
  return [
    {
      _tag: "ProfileCreated",
      clientId: command.clientId,
      tier: command.tier,
      expected: fromHistory ? state.expected : tierDefaults[command.tier],
      basis: fromHistory ? "history" : "tier",
      template: command.template ?? defaultTemplate,
      network: command.network ?? defaultNetwork
    }
  ]
}

const decideRefine = (command: typeof RefineProfile.Type | typeof ScaleProfile.Type, state: ProfileState) => {
  if (state._tag === "Absent") return Effect.fail(missing(command.clientId))
  const expected = { ...state.expected, ...command.expected }
  if (sameResources(expected, state.expected)) return Effect.succeed([])
  const source: RefinementSource = command._tag === "ScaleProfile" ? "scaling" : "manual"
  return Effect.succeed<ReadonlyArray<ProfileEvent>>([
    { _tag: "ProfileRefined", clientId: command.clientId, expected, previous: state.expected, reason: command.reason, source }
  ])
}

const decideDependencies = (command: typeof RecordDependencies.Type, state: ProfileState) => {
  if (state._tag === "Absent") return Effect.fail(missing(command.clientId))
  const before = new Set((state.inferred ?? []).map((file) => file.path))
  const now = new Set(command.files.map((file) => file.path))
  const added = [...now].filter((path) => !before.has(path)).sort()
  const dropped = [...before].filter((path) => !now.has(path)).sort()
  if (added.length === 0 && dropped.length === 0) return Effect.succeed([])
  return Effect.succeed<ReadonlyArray<ProfileEvent>>([
    { _tag: "DependenciesInferred", clientId: command.clientId, instanceId: command.instanceId, files: command.files, added, dropped }
  ])
}

/** What production reads into the page cache before its workload starts: inferred libraries and files (its state arrives by transfer). */
export const preloadFiles = (state: ProfileState): ReadonlyArray<string> =>
  state._tag === "Active" ? (state.inferred ?? []).filter((file) => file.kind !== "state").map((file) => file.path) : []

export const profileDecider: Decider<ProfileCommand, ProfileEvent, ProfileState> = {
  initialState: { _tag: "Absent" },
  evolve: (state, event) => {
    switch (event._tag) {
      case "ProfileCreated":
        return { _tag: "Active", tier: event.tier, expected: event.expected, template: event.template, network: event.network }
      case "ProfileRefined":
        return state._tag === "Active" ? { ...state, expected: event.expected } : state
      case "TemplateChanged":
        return state._tag === "Active" ? { ...state, template: event.template } : state
      case "NetworkChanged":
        return state._tag === "Active" ? { ...state, network: event.network } : state
      case "DependenciesInferred":
        return state._tag === "Active" ? { ...state, inferred: event.files } : state
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "CreateProfile":
        return Effect.succeed(decideCreate(command, state))
      case "RefineProfile":
      case "ScaleProfile":
        return decideRefine(command, state)
      case "SetTemplate":
        return state._tag === "Absent"
          ? Effect.fail(missing(command.clientId))
          : Effect.succeed([{ _tag: "TemplateChanged", clientId: command.clientId, template: command.template }])
      case "SetNetwork":
        return state._tag === "Absent"
          ? Effect.fail(missing(command.clientId))
          : Effect.succeed([{ _tag: "NetworkChanged", clientId: command.clientId, network: command.network }])
      case "RecordDependencies":
        return decideDependencies(command, state)
    }
  }
}


export const profileAggregate: Aggregate<ProfileCommand, ProfileEvent, ProfileState> = {
  category: "profile",
  commands: ProfileCommand,
  events: ProfileEvent,
  decider: profileDecider,
  idOf: (command) => command.clientId,
  // CreateProfile is the connect saga's, ScaleProfile the scaling engine's, RecordDependencies the dependency recorder's; a tenant's RefineProfile is a manual override and carries its reason.
  access: {
    CreateProfile: "internal",
    RefineProfile: "public",
    ScaleProfile: "internal",
    SetTemplate: "public",
    SetNetwork: "public",
    RecordDependencies: "internal"
  },
  // Refinements pile up for as long as the client stays: a command reads the snapshot and what came after it.
  // (ProfileRefined v2 left the state as it was: its snapshots stay version 1.)
  snapshot: { version: 1, schema: ProfileState }
}
