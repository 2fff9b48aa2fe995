import { Effect } from "effect"
import { ProjectionStore } from "../projections/projectionStore.ts"

/** A row as its projection wrote it (rows are Umbra's own JSON, typed by the projection that keeps them). */
export const readRow = <Row>(projection: string, key: string) =>
  ProjectionStore.use((rows) => rows.row(projection, key)).pipe(Effect.map((value) => value as Row | undefined))

/** The rows under a key prefix, in key order; a tenant's prefix reads only that tenant's rows. */
export const readRows = <Row>(projection: string, prefix: string) =>
  ProjectionStore.use((rows) => rows.rows(projection, prefix)).pipe(Effect.map((found) => found.map(({ value }) => value as Row)))
