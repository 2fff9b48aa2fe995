import type { KurrentDBClient } from "@kurrent/kurrentdb-client"
import operationsGrpc from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/operations_grpc_pb.js"
import operationsPb from "@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/operations_pb.js"

/**
 * Starts a scavenge through the server's Operations service and returns its id. The client 1.3.1 has no
 * method for it, so this borrows the client's own connection and credentials (its protected `execute` and
 * `callArguments`, reached by element access) rather than opening a second, differently configured channel.
 */
export const startScavenge = (client: KurrentDBClient): Promise<string> =>
  client["execute"](operationsGrpc.OperationsClient, "startScavenge", (operations) =>
    new Promise<string>((resolve, reject) => {
      const request = new operationsPb.StartScavengeReq().setOptions(
        new operationsPb.StartScavengeReq.Options().setThreadCount(1).setStartFromChunk(0)
      )
      operations.startScavenge(request, ...client["callArguments"]({}), (error, response) =>
        error === null ? resolve(response.getScavengeId()) : reject(error)
      )
    })
  )

/** The server records each scavenge in `$scavenges-<id>`; it is over once `$scavengeCompleted` is there. */
export const scavengeStream = (scavengeId: string): string => `$scavenges-${scavengeId}`

export const scavengeCompletedType = "$scavengeCompleted"
