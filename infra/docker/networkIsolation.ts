import { execFile } from "node:child_process"
import { Effect } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"
import { bridgePrefix } from "./clientNetwork.ts"

/**
 * Umbra's own nftables rules for client networks. The engine runs here without its iptables rules
 * (`--iptables=false`), and with them off the host routes between two bridges and lets a container reach
 * every service of the host: these rules keep each client's bridge to itself.
 *
 * - forward: nothing enters or leaves a client bridge through the host (another client's network, or out),
 *   except out of a bridge listed in `egress` (a profile that allows egress); replies to the host's own
 *   connections (the router's, through the engine's port proxy) are not forwarded but local, so they pass.
 * - input: from a client bridge the host accepts only replies and the agent path's ports (`agent_ports`);
 *   the agent path itself accepts only its own network's addresses.
 *
 * Every Umbra on the machine shares the table: the script adds what is missing and rewrites the rules the
 * same way each time, in one transaction, so the elements of the sets (other Umbras' ports and bridges) stay.
 */
const table = "inet umbra"

const rules = `add table ${table}
add set ${table} egress { type ifname; }
add set ${table} agent_ports { type inet_service; }
add chain ${table} forward { type filter hook forward priority filter - 1; policy accept; }
add chain ${table} input { type filter hook input priority filter - 1; policy accept; }
flush chain ${table} forward
flush chain ${table} input
add rule ${table} forward iifname "${bridgePrefix}*" oifname != "${bridgePrefix}*" iifname @egress accept
add rule ${table} forward iifname "${bridgePrefix}*" drop
add rule ${table} forward oifname "${bridgePrefix}*" ct state established,related iifname != "${bridgePrefix}*" accept
add rule ${table} forward oifname "${bridgePrefix}*" drop
add rule ${table} input iifname "${bridgePrefix}*" ct state established,related accept
add rule ${table} input iifname "${bridgePrefix}*" tcp dport @agent_ports accept
add rule ${table} input iifname "${bridgePrefix}*" drop
`

const nft = (script: string) =>
  Effect.callback<void, RuntimeFailed>((resume) => {
    const child = execFile("nft", ["-f", "-"], { timeout: 10_000 }, (error, _stdout, stderr) =>
      resume(
        error === null
          ? Effect.void
          : Effect.fail(
            new RuntimeFailed({
              instanceId: "-",
              message: `cannot set the client networks' isolation rules (nft, as root, is needed; or UMBRA_DOCKER_NETWORK=host runs instances on the host's network without isolation): ${
                stderr.trim() || error.message
              }`
            })
          )
      )
    )
    child.stdin?.end(script)
  })

/** Installs the rules (idempotent) and lets the client networks reach `agentPort` on their gateways. */
export const installIsolation = (agentPort: number) => nft(`${rules}add element ${table} agent_ports { ${agentPort} }\n`)

/** Lets a bridge forward out of the host (never into another client's bridge), or stops it. */
export const allowEgress = (bridge: string, allowed: boolean) =>
  nft(`${allowed ? "add" : "delete"} element ${table} egress { "${bridge}" }\n`).pipe(
    // Deleting what is not there fails; it is what was wanted.
    allowed ? (effect) => effect : Effect.ignore
  )
