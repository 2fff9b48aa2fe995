import { Effect } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { NatsAccessConfig, UmbraConfig } from "../config.ts"
import { loadDashboardKey, operatorToken, revocationsIn, tenantToken } from "../dashboard/dashboardTokens.ts"
import { holderRevocationsIn, revokeHolder } from "../dashboard/tokenHolders.ts"
import { authPaths, readServerFile } from "../natsAuth/authDirectory.ts"
import { addTenant, listTenants, revokeTenant } from "../natsAuth/tenantCredentials.ts"
import { parseOptions } from "./options.ts"
import { exitCodesHelp, failed, print, usage } from "./terminal.ts"

export const tenantHelp = `Usage: umbra tenant add <tenant> [--out <file>] [--json]
       umbra tenant ls [--json]
       umbra tenant revoke <tenant> [--json]
       umbra tenant token <tenant> [--holder <name>] | --operator [--json]
       umbra tenant revoke-token <tenant> --holder <name> [--json]

Issues and revokes tenants' NATS credentials (standard .creds files) on the server 'umbra serve' runs when
NATS_URL is not set; run it beside the data directory (UMBRA_DATA_DIR). A tenant's credentials may send
its own commands and queries, receive its own replies, and read its own events; nothing else. A running
server takes the change before the command returns. Example:
  umbra tenant add acme --out acme.creds
  umbra send ConnectClient --tenant acme --creds acme.creds --data '{"clientId": "c1", "tier": "basic"}'

token prints the bearer token of the read-only dashboard and /api for one tenant (it sees only its own),
or for the operator (every tenant): an HMAC of the name (and the tenant's revocations: revoke voids its
tokens) with the server's key (UMBRA_DATA_DIR/http/dashboard.key; deleting it and restarting voids every
token). With --holder the token is that holder's (a person or a tool) and revoke-token voids it alone: the
holder's next token differs, every other token of the tenant stays good. Open the dashboard with it:
  http://127.0.0.1:8080/#token=$(umbra tenant token acme --holder alice)

Options:
  --out <file>     where add writes the .creds file (default UMBRA_DATA_DIR/tenants/<tenant>.creds)
  --operator       token: the operator's token instead of a tenant's
  --holder <name>  token, revoke-token: the holder the token is for ([a-z0-9][a-z0-9_-]{0,63})
  --json           add: {"tenant", "creds", "natsUrl"}; ls: {"tenants": [{"tenant", "active", "revoked"}]};
                   revoke: {"tenant", "revoked"}; token: {"tenant" (null for the operator), "holder" (or
                   null), "token", "dashboard"}; revoke-token: {"tenant", "holder", "revocations"}

${exitCodesHelp("done", "revoke found no credentials in force, or the data directory could not be read or written")}`

const tenantArgument = (tenant: string | undefined, rest: ReadonlyArray<string>) =>
  tenant !== undefined && rest.length === 0 && tokenPattern.test(tenant) ? tenant : undefined

export const tenantCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values, positionals } = yield* parseOptions(argv, {
      allowPositionals: true,
      options: {
        out: { type: "string" },
        operator: { type: "boolean", default: false },
        holder: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) return yield* print(tenantHelp).pipe(Effect.as(0))
    const { dataDir, httpHost, httpPort } = yield* UmbraConfig
    const access = yield* NatsAccessConfig
    const [action, name, ...rest] = positionals
    if (action === "ls" && name === undefined) {
      const tenants = yield* listTenants(dataDir)
      if (values.json) return yield* print(JSON.stringify({ tenants })).pipe(Effect.as(0))
      return yield* print(tenants.map((t) => `${t.tenant}\t${t.active} active\t${t.revoked} revoked`).join("\n")).pipe(Effect.as(0))
    }
    const holder = values.holder
    if (holder !== undefined && (!tokenPattern.test(holder) || values.operator || (action !== "token" && action !== "revoke-token"))) {
      return yield* usage("--holder names a holder of a tenant's token ([a-z0-9][a-z0-9_-]{0,63}), with token <tenant> or revoke-token <tenant>", tenantHelp)
    }
    if (action === "token" && (values.operator ? name === undefined : tenantArgument(name, rest) !== undefined)) {
      const key = yield* loadDashboardKey(dataDir)
      const token = name === undefined
        ? operatorToken(key)
        : tenantToken(key, name, yield* revocationsIn(dataDir)(name), holder === undefined ? undefined : { name: holder, revocations: yield* holderRevocationsIn(dataDir)(name, holder) })
      const dashboard = `http://${httpHost.includes(":") ? `[${httpHost}]` : httpHost}:${httpPort}/`
      return yield* print(values.json ? JSON.stringify({ tenant: name ?? null, holder: holder ?? null, token, dashboard }) : token).pipe(Effect.as(0))
    }
    if (action === "revoke-token" && tenantArgument(name, rest) !== undefined && holder !== undefined) {
      const revocations = yield* revokeHolder(dataDir, name!, holder)
      return yield* print(values.json ? JSON.stringify({ tenant: name, holder, revocations }) : `revoked the dashboard token of ${holder} for ${name}`).pipe(Effect.as(0))
    }
    const tenant = tenantArgument(name, rest)
    if ((action !== "add" && action !== "revoke") || tenant === undefined) {
      return yield* usage(
        "name add <tenant>, ls, revoke <tenant>, token <tenant>|--operator or revoke-token <tenant> --holder <name>, with a tenant matching [a-z0-9][a-z0-9_-]{0,63}",
        tenantHelp
      )
    }
    if (action === "add") {
      const creds = yield* addTenant(dataDir, tenant, values.out ?? authPaths(dataDir).tenantCreds(tenant))
      const natsUrl = (yield* readServerFile(dataDir))?.url ?? access.url ?? `nats://127.0.0.1:${access.port}`
      return yield* print(values.json ? JSON.stringify({ tenant, creds, natsUrl }) : creds).pipe(Effect.as(0))
    }
    const revoked = yield* revokeTenant(dataDir, tenant)
    if (values.json) yield* print(JSON.stringify({ tenant, revoked }))
    else yield* print(revoked === 0 ? `${tenant} has no credentials in force` : `revoked ${revoked} credential(s) of ${tenant}`)
    return revoked === 0 ? 1 : 0
  }).pipe(
    Effect.catchTag("UsageError", (error) => usage(error.message, tenantHelp)),
    Effect.catchTags({ NatsAuthError: (error) => failed(error.message), DashboardKeyFailed: (error) => failed(error.message) })
  )
