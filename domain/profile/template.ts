import { Schema } from "effect"

const Name = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,254}$/))
/** An absolute path with no `..` segment: where the workload keeps state to carry to production. */
const StatePath = Schema.String.check(Schema.isPattern(/^(?!.*(?:^|\/)\.\.(?:\/|$))\/[A-Za-z0-9_.\/-]{1,255}$/))
const SettingKey = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/))

/** The instance's software: OS image, dependencies, state paths and settings. */
export const Template = Schema.Struct({
  image: Name,
  command: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMaxLength(64))),
  dependencies: Schema.Array(Name).check(Schema.isMaxLength(256)),
  statePaths: Schema.Array(StatePath).check(Schema.isMaxLength(32)),
  settings: Schema.Record(SettingKey, Schema.String)
})
export type Template = typeof Template.Type

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

/**
 * A client that names no template gets the sample workload with the agent (built offline by Umbra).
 * UMBRA_IDENTITY_FILES names the files of its state that are its own identity: a launch does not copy them.
 */
export const defaultTemplate: Template = {
  image: "umbra/sample-workload:latest",
  dependencies: [],
  statePaths: ["/var/lib/umbra/state"],
  settings: { UMBRA_IDENTITY_FILES: "identity.json" }
}

export const defaultNetwork: Network = { subnets: [], securityGroups: [], egress: false }
