import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"

/**
 * The event log. The rowid is the global position; AUTOINCREMENT so that a position freed by a scavenge of
 * the newest events is never handed out again (a subscriber's checkpoint must stay meaningful).
 */
export const eventsTable = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  at TEXT NOT NULL,
  tenant TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  causation_id TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  UNIQUE (stream, revision)
)`

/**
 * A stream's revision when a scavenge last removed some of its events, so that the revision outlives them;
 * otherwise the stream's revision is its newest event's, and appends write nothing here.
 */
const scavengedTable = `
CREATE TABLE IF NOT EXISTS scavenged_streams (
  stream TEXT PRIMARY KEY,
  revision INTEGER NOT NULL
) WITHOUT ROWID`

const metadataTable = `
CREATE TABLE IF NOT EXISTS stream_metadata (
  stream TEXT PRIMARY KEY,
  max_age INTEGER,
  max_count INTEGER
) WITHOUT ROWID`

/** The newest snapshot of each stream: beside the log, never in it. */
const snapshotsTable = `
CREATE TABLE IF NOT EXISTS snapshots (
  stream TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL
) WITHOUT ROWID`

/** The columns of a stored event, in the order `sqliteEventStore.ts` decodes them. */
export const eventColumns =
  "position, id, stream, revision, type, data, at, tenant, correlation_id, causation_id, schema_version"

/** Opens (and on first use creates) an event store file; several processes may open the same file. */
export const openEventDatabase = (
  file: string,
  busyTimeoutMillis: number,
  synchronous: "FULL" | "NORMAL" = "FULL"
): DatabaseSync => {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true })
  const db = new DatabaseSync(file, { timeout: busyTimeoutMillis })
  try {
    db.exec("PRAGMA journal_mode = WAL")
    // WAL + FULL: a commit is on disk before anyone hears of it, so an OS crash or a power cut cannot take
    // back a decision the relay already published (NORMAL would lose the last commits). Group commit in the
    // store pays the fsync once for every append that waited.
    db.exec(`PRAGMA synchronous = ${synchronous}`)
    db.exec(`BEGIN IMMEDIATE; ${eventsTable}; ${scavengedTable}; ${metadataTable}; ${snapshotsTable}; COMMIT`)
    return db
  } catch (cause) {
    db.close()
    throw cause
  }
}
