import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { promisify } from "node:util"
import { Effect } from "effect"

/** The nice value of every thread of a process (Linux keeps one per thread), read from the host's /proc. */
export const threadNices = (pid: number): ReadonlyArray<number> =>
  readdirSync(`/proc/${pid}/task`).map((tid) => {
    // The command name may hold spaces and parentheses: the fields after its closing one start at the 3rd.
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19 - 3])
  })

/** The processes a process started, by PID. */
export const childrenOf = (pid: number): ReadonlyArray<number> =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter((word) => word !== "").map(Number)

export const commandLineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")

/** A process's PID in its own PID namespace (a container's), from the host's. */
export const pidInNamespace = (pid: number) => Number(/^NSpid:.*\s(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1])

/** What `os.setPriority(pid, 0)` answers when run by `run` (a node command line): `raised`, or the error's code. */
const raiseScript = (pid: number) =>
  `try { require("node:os").setPriority(${pid}, 0); console.log("raised") } catch (error) { console.log(error.info?.code ?? error.code) }`

/** Tries to raise a process back to nice 0 with a node command line of the caller's (a user's, a container's). */
export const tryRaise = (command: ReadonlyArray<string>, pid: number, options: { readonly uid?: number; readonly gid?: number } = {}) =>
  Effect.promise(() => promisify(execFile)(command[0]!, [...command.slice(1), "-e", raiseScript(pid)], options)).pipe(
    Effect.map(({ stdout }) => stdout.trim())
  )
