// Loaded by Node.js before the Pulumi SDK and the program (Pulumi.yaml: runtime.options.nodeargs).
// It makes the program start sooner in two ways, and needs no build step anyone could forget:
//
// - TypeScript: each .ts module is turned into JavaScript by Sucrase, which keeps every line where
//   it was, so that stack traces and the positions the engine records point at the right line of
//   the .ts file without source maps. The JavaScript is kept between runs, named by a hash of the
//   module's text and of the transform, so an edited module is transformed again and never served
//   stale. A run whose modules are all kept loads no compiler at all.
// - Node.js's compile cache (22.1 and newer) keeps V8's compiled code of every module between runs,
//   keyed by content too.
//
// Type-checking is `npm test`'s (tsc --noEmit), as it was with ts-node in transpile-only mode.
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");

const CACHE = path.join(__dirname, "..", "node_modules", ".cache", "plumr");

Module.enableCompileCache?.(path.join(CACHE, "compile"));

/** What decides the JavaScript of a module besides its text: the transform and its version. */
const TRANSFORM = { transforms: ["typescript", "imports"], disableESTransforms: true, keepUnusedImports: false };
let transformKey;
function transformIdentity() {
    transformKey ??= JSON.stringify([require("sucrase/package.json").version, TRANSFORM]);
    return transformKey;
}

/** The JavaScript of the TypeScript module `filename`, from the cache or transformed now (and kept). */
function javaScriptOf(filename) {
    const source = fs.readFileSync(filename, "utf8");
    const hash = crypto.createHash("sha256").update(transformIdentity()).update("\0").update(source).digest("hex");
    const entry = path.join(CACHE, "js", `${hash}.js`);
    try {
        return fs.readFileSync(entry, "utf8");
    } catch {
        // not kept yet: transformed below
    }
    const code = require("sucrase").transform(source, { ...TRANSFORM, filePath: filename }).code;
    try {
        fs.mkdirSync(path.dirname(entry), { recursive: true });
        const partial = `${entry}.${process.pid}.partial`;
        fs.writeFileSync(partial, code);
        fs.renameSync(partial, entry);
    } catch {
        // a cache that cannot be written only costs the time
    }
    return code;
}

Module._extensions[".ts"] = (module, filename) => module._compile(javaScriptOf(filename), filename);
