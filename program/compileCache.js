// Loaded by Node.js before the Pulumi SDK and the program (Pulumi.yaml: runtime.options.nodeargs).
// It keeps V8's compiled code of every module the run loads (the TypeScript compiler, ts-node,
// the SDKs, the program) between runs: Node.js's compile cache, 22.1 and newer. The cache is keyed
// by each module's content, so an edited file is compiled again and never served stale; there is
// no build step to forget. A Node.js without it runs as before.
const { enableCompileCache } = require("module");
const path = require("path");

enableCompileCache?.(path.join(__dirname, "..", "node_modules", ".cache", "plumr", "compile"));
