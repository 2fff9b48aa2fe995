#!/usr/bin/env node
import { enableCompileCache } from "node:module"
import { join } from "node:path"
import { sharedDir } from "./workloadPaths.ts"

// Node's compiled code of the image's own modules (V8's cache, checked against each source and Node's
// version) is the image's like the cache is: in the shared path it makes a restarted workload, as a claimed
// pooled shadow's is, load faster. Never in the state path, which a launch copies file by file.
if (sharedDir !== undefined) enableCompileCache(join(sharedDir, "node-compile-cache"))
await import("./service.ts")
