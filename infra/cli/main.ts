#!/usr/bin/env node
import { enableCompileCache } from "node:module"
import { homedir } from "node:os"
import { join } from "node:path"

// V8 keeps the code it compiled for Umbra's modules between runs (Node checks each entry against its source),
// which takes about a quarter off every command's start. In the user's own cache directory: one others can
// write to (as the system's temporary directory) could hand this process code. Failing to use it is no error.
enableCompileCache(join(process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "umbra", "compile-cache"))

await import("./dispatch.ts")
