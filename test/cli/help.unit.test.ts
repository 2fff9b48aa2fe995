import { execFile } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/** `umbra <args>` as its own process, on no NATS and a data directory it never gets to use. */
const umbra = (...args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { timeout: 60_000, env: { ...process.env, UMBRA_LOG_LEVEL: "error", UMBRA_DATA_DIR: "/nonexistent/umbra-help-test" } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr })
    )
  })

/** Every command main.ts lists, and the subcommands each group's help names ("Run 'umbra dlq <ls|show|retry> --help'"). */
const walk = async () => {
  const top = await umbra("--help")
  const names = [...top.stdout.split("Commands:")[1]!.split("\n\n")[0]!.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!)
  const all: Array<ReadonlyArray<string>> = [[]]
  for (const name of names) {
    all.push([name])
    const subs = /Run 'umbra [a-z]+ <([a-z|]+)> --help'/.exec((await umbra(name, "--help")).stdout)?.[1]
    for (const sub of subs?.split("|") ?? []) all.push([name, sub])
  }
  return { names, all }
}

const { names, all } = await walk()

describe("every command's --help", () => {
  it("walks every command main.ts dispatches to, and the subcommands of dlq, events and streams", () => {
    expect(names).toEqual(expect.arrayContaining(["serve", "tenant", "send", "query", "tail", "dlq", "replay", "events", "streams", "demo", "image", "agent", "backtest"]))
    expect(all).toEqual(expect.arrayContaining([["dlq", "retry"], ["events", "import"], ["streams", "show"]]))
  })

  describe.concurrent.for(all.map((command) => [command.join(" ") || "(umbra)", command] as const))("%s", ([, command]) => {
    it("exits 0 and shows an example and the exit codes 0, 1 and 2", async () => {
      const { code, stdout } = await umbra(...command, "--help")
      expect(code).toBe(0)
      expect(stdout).toMatch(/^Usage: |^umbra /)
      expect(stdout).toMatch(/\bExamples?\b[^\n]*:\n {2}\S/)
      // backtest has no exit code 1 (it cannot fail but on its arguments and files).
      expect(stdout).toMatch(command[0] === "backtest" ? /Exit codes: 0 .*, 2 / : /Exit codes:\n {2}0 {2}.+\n {2}1 {2}.+\n {2}2 {2}a usage error/)
    })

    // A group's subcommands parse as the group does: the group's own answer is enough (each is a process).
    it.skipIf(command.length > 1)("says what was wrong on stderr and exits 2 on an option it does not take", async () => {
      const { code, stderr } = await umbra(...command, "--no-such-option")
      expect(code).toBe(2)
      expect(stderr).toMatch(/^umbra( backtest)?: \S/)
    })
  })
})
