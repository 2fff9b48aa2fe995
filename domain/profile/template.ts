import { Schema, SchemaTransformation } from "effect"

const Name = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,254}$/))
/** An absolute path with no `..` segment: where the workload keeps state to carry to production. */
const StatePath = Schema.String.check(Schema.isPattern(/^(?!.*(?:^|\/)\.\.(?:\/|$))\/[A-Za-z0-9_.\/-]{1,255}$/))
const SettingKey = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/))
/** A file of a state path, relative to it, with no `..` segment. */
const RelativeFile = Schema.String.check(Schema.isPattern(/^(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9_.-][A-Za-z0-9_.\/-]{0,255}$/))

/** Few: each is a volume of its own that outlives the clients of a pooled shadow. */
const maxSharedStatePaths = 4

/** The instance's software: OS image, dependencies, state paths and settings, as stored in events. */
export const Template = Schema.Struct({
  image: Name,
  command: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMaxLength(64))),
  dependencies: Schema.Array(Name).check(Schema.isMaxLength(256)),
  statePaths: Schema.Array(StatePath).check(Schema.isMaxLength(32)),
  /**
   * Caches that belong to the image, not to a client (preloaded libraries, dependency caches): recycling
   * keeps them warm for the next client while it empties `statePaths`, and a launch does not copy them.
   */
  sharedStatePaths: Schema.optionalKey(Schema.Array(StatePath).check(Schema.isMaxLength(maxSharedStatePaths))),
  settings: Schema.Record(SettingKey, Schema.String),
  /** Files of the state that are the instance's own identity (ids, seeds, tokens): a launch does not copy them. */
  identityFiles: Schema.optionalKey(Schema.Array(RelativeFile).check(Schema.isMaxLength(64))),
  /** How often the agent reports telemetry. */
  telemetryMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 3_600_000 }))),
  /** The path on the instance's own port that answers 2xx once it is ready. */
  readyPath: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\/[A-Za-z0-9_.\/-]{0,255}$/)))
})
export type Template = typeof Template.Type

/** Where a workload's state may not be: the whole filesystem, or what the kernel and the system own. */
const systemRoots = ["/proc", "/sys", "/dev", "/etc", "/run"]

/** `//a/./b/` → `/a/b` (a path with no `..` segment, as `StatePath` checks). */
const normalPath = (path: string) => `/${path.split("/").filter((segment) => segment !== "" && segment !== ".").join("/")}`

const TenantStatePath = StatePath.pipe(
  Schema.decodeTo(
    Schema.String.check(
      Schema.makeFilter((path: string) =>
        path === "/"
          ? "not the whole filesystem"
          : systemRoots.some((root) => path === root || path.startsWith(`${root}/`))
          ? `not under ${systemRoots.join(", ")}`
          : true
      )
    ),
    SchemaTransformation.transform({ decode: normalPath, encode: (path) => path })
  )
)

/** One path equal to, or inside, the other (both normalized). */
const overlap = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)

/**
 * A shared path inside a state path (or the reverse) would be scrubbed and kept at once: the client's
 * state could then outlive its client in the pool.
 */
const separateSharedPaths = Schema.makeFilter((template: { readonly statePaths: ReadonlyArray<string>; readonly sharedStatePaths?: ReadonlyArray<string> }) => {
  const clashes = (template.sharedStatePaths ?? []).filter((shared) => template.statePaths.some((state) => overlap(shared, state)))
  return clashes.length === 0 || `shared state paths overlap the state paths: ${clashes.join(", ")}`
})

/** What Umbra sets in an instance's environment itself, or what would change how its processes load. */
const isReservedSetting = (key: string) => /^(?:NATS_|UMBRA_|LD_)/i.test(key) || key.toUpperCase() === "NODE_OPTIONS"

/**
 * A template as a tenant gives it (ConnectClient, SetTemplate): state and shared paths normalized, outside
 * the system's directories and apart from each other, and no setting Umbra reserves (`NATS_*`, `UMBRA_*`,
 * `LD_*`, `NODE_OPTIONS`).
 */
export const TenantTemplate = Schema.Struct({
  ...Template.fields,
  statePaths: Schema.Array(TenantStatePath).check(Schema.isMaxLength(32)),
  sharedStatePaths: Schema.optionalKey(Schema.Array(TenantStatePath).check(Schema.isMaxLength(maxSharedStatePaths))),
  settings: Schema.Record(SettingKey, Schema.String).check(
    Schema.makeFilter((settings: Readonly<Record<string, string>>) => {
      const reserved = Object.keys(settings).filter(isReservedSetting)
      return reserved.length === 0 || `reserved settings: ${reserved.join(", ")} (NATS_*, UMBRA_*, LD_* and NODE_OPTIONS are Umbra's)`
    })
  )
}).check(separateSharedPaths)

const Cidr = Schema.String.check(
  Schema.isPattern(/^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\/(?:3[0-2]|[12]?\d)$/)
)
const Port = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))

export const IngressRule = Schema.Struct({
  protocol: Schema.Literals(["tcp", "udp"]),
  port: Port,
  from: Cidr
})

export const SecurityGroup = Schema.Struct({
  name: Name,
  ingress: Schema.Array(IngressRule).check(Schema.isMaxLength(64))
})

/** Network settings: VLAN, subnets, security groups and whether egress is allowed. */
export const Network = Schema.Struct({
  vlan: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4094 }))),
  subnets: Schema.Array(Cidr).check(Schema.isMaxLength(16)),
  securityGroups: Schema.Array(SecurityGroup).check(Schema.isMaxLength(16)),
  egress: Schema.Boolean
})
export type Network = typeof Network.Type

/** A client that names no template gets the sample workload with the agent (built offline by Umbra). */
export const defaultTemplate: Template = {
  image: "umbra/sample-workload:latest",
  dependencies: [],
  statePaths: ["/var/lib/umbra/state"],
  // Its cache is computed from nothing of the client's (see infra/sampleWorkload/warmCache.ts).
  sharedStatePaths: ["/var/cache/umbra/shared"],
  settings: {},
  identityFiles: ["identity.json"]
}

export const defaultNetwork: Network = { subnets: [], securityGroups: [], egress: false }
