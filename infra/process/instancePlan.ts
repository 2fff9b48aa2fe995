import { readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"

/**
 * What the process runtime keeps of a spec beside the instance's record, to start the instance later
 * (`create` with `start: false`, then `start`) and to find a state path's directory: the record holds the
 * directories, this the template's paths they stand for, in the same order.
 */
export const InstancePlan = Schema.Struct({
  command: Schema.optionalKey(Schema.Array(Schema.String)),
  env: Schema.Record(Schema.String, Schema.String),
  statePaths: Schema.Array(Schema.String)
})
export type InstancePlan = typeof InstancePlan.Type
const InstancePlanJson = Schema.fromJsonString(InstancePlan)

const planFile = (dir: string) => join(dir, "plan.json")

export const writePlan = (instanceId: string, dir: string, plan: InstancePlan) =>
  Effect.tryPromise({
    try: async () => {
      await writeFile(`${planFile(dir)}.tmp`, Schema.encodeSync(InstancePlanJson)(plan))
      await rename(`${planFile(dir)}.tmp`, planFile(dir))
    },
    catch: (cause) => new RuntimeFailed({ instanceId, message: `cannot write the plan of ${instanceId}: ${String(cause)}` })
  })

export const readPlan = (instanceId: string, dir: string) =>
  Effect.tryPromise({
    try: () => readFile(planFile(dir), "utf8"),
    catch: (cause) => new RuntimeFailed({ instanceId, message: `no plan for instance ${instanceId}: ${String(cause)}` })
  }).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(InstancePlanJson)),
    Effect.mapError((error) => (error instanceof RuntimeFailed ? error : new RuntimeFailed({ instanceId, message: `unreadable plan of ${instanceId}: ${error.message}` })))
  )
