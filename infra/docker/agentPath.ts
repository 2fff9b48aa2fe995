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

export const makeAgentPaths = (target: { readonly host: string; readonly port: number }): AgentPaths => {
  const servers = new Map<string, Server>()

  const relay = (allowed: BlockList) => createServer({ noDelay: true }, (socket) => {
    if (socket.remoteAddress === undefined || !allowed.check(socket.remoteAddress, "ipv4")) return socket.destroy()
    const upstream = connect({ host: target.host, port: target.port, noDelay: true })
    socket.pipe(upstream).pipe(socket)
    const end = () => {
      socket.destroy()
      upstream.destroy()
    }
    socket.on("error", end).on("close", end)
    upstream.on("error", end).on("close", end)
  })

  const open = (network: ClientNetwork) =>
    Effect.callback<void, RuntimeFailed>((resume) => {
      if (servers.has(network.name)) return resume(Effect.void)
      const allowed = new BlockList()
      for (const subnet of network.subnets) allowed.addSubnet(formatAddress(subnet.base), subnet.prefix, "ipv4")
      const server = relay(allowed)
      servers.set(network.name, server)
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

  const close = (name: string) =>
    Effect.sync(() => {
      servers.get(name)?.close()
      servers.delete(name)
    })

  const closeAll = Effect.sync(() => {
    for (const server of servers.values()) server.close()
    servers.clear()
  })

  return { open, close, closeAll }
}
