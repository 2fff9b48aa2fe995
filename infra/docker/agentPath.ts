import { BlockList, connect, createServer, type Server } from "node:net"
import { Effect } from "effect"
import { RuntimeFailed } from "../../src/instanceRuntime.ts"
import { formatAddress } from "./cidr.ts"
import type { ClientNetwork } from "./clientNetwork.ts"

/**
 * The agent path of client networks: on each network's gateway, a TCP relay to NATS, the one service of the
 * host an instance may reach (NATS itself listens on loopback). A connection from any address but the
 * network's own is closed unread: through the host, a container could otherwise reach another client's
 * gateway. The relay holds no secret; each agent authenticates to NATS with its own credentials.
 */
export interface AgentPaths {
  /** Serves the network's gateway, if not already; another process of this Umbra may serve it (that is fine). */
  readonly open: (network: ClientNetwork) => Effect.Effect<void, RuntimeFailed>
  readonly close: (name: string) => Effect.Effect<void>
  readonly closeAll: Effect.Effect<void>
}

const maxConnectionsPerNetwork = 32

export const makeAgentPaths = (target: { readonly host: string; readonly port: number }): AgentPaths => {
  /** Each network's relay with the ends of its open connections: closing a path ends them too. */
  const servers = new Map<string, { readonly server: Server; readonly open: Set<() => void> }>()

  const relay = (allowed: BlockList, open: Set<() => void>) => createServer({ noDelay: true }, (socket) => {
    if (socket.remoteAddress === undefined || !allowed.check(socket.remoteAddress, "ipv4")) return socket.destroy()
    const upstream = connect({ host: target.host, port: target.port, noDelay: true })
    socket.pipe(upstream).pipe(socket)
    const end = () => {
      open.delete(end)
      socket.destroy()
      upstream.destroy()
    }
    open.add(end)
    socket.on("error", end).on("close", end)
    upstream.on("error", end).on("close", end)
  })

  const shut = (name: string) => {
    const path = servers.get(name)
    servers.delete(name)
    path?.server.close()
    for (const end of path?.open ?? []) end()
  }

  const open = (network: ClientNetwork) =>
    Effect.callback<void, RuntimeFailed>((resume) => {
      if (servers.has(network.name)) return resume(Effect.void)
      const allowed = new BlockList()
      for (const subnet of network.subnets) allowed.addSubnet(formatAddress(subnet.base), subnet.prefix, "ipv4")
      const open = new Set<() => void>()
      const server = relay(allowed, open)
      // A client's network holds its shadow and its production, each with one agent connection (two while
      // one reconnects): a workload opening connections by the thousand gets refused, not relayed.
      server.maxConnections = maxConnectionsPerNetwork
      servers.set(network.name, { server, open })
      server.once("error", (error: NodeJS.ErrnoException) => {
        servers.delete(network.name)
        resume(
          error.code === "EADDRINUSE"
            ? Effect.void
            : Effect.fail(new RuntimeFailed({ instanceId: "-", message: `cannot open the agent path of ${network.name} on ${network.gateway}: ${error.message}` }))
        )
      })
      server.listen(target.port, network.gateway, () => resume(Effect.void))
    })

  const close = (name: string) => Effect.sync(() => shut(name))

  // The agents' connections too: Umbra stops, and they reconnect to the next one's path.
  const closeAll = Effect.sync(() => {
    for (const name of [...servers.keys()]) shut(name)
  })

  return { open, close, closeAll }
}
