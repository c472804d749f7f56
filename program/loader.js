// Loaded by Node.js before the Pulumi SDK and the program (Pulumi.yaml: runtime.options.nodeargs).
// It makes the program start sooner in three ways, and needs no build step anyone could forget:
//
// - TypeScript: each .ts module is turned into JavaScript by Sucrase, which keeps every line where
//   it was, so that stack traces and the positions the engine records point at the right line of
//   the .ts file without source maps. The JavaScript is kept between runs, named by a hash of the
//   module's text and of the transform, so an edited module is transformed again and never served
//   stale. A run whose modules are all kept loads no compiler at all.
// - Node.js's compile cache (22.1 and newer) keeps V8's compiled code of every module between runs,
//   keyed by content too.
// - What the Pulumi SDK sets up at start for features this program never uses is left out or put
//   off until first use (see deferSdkStartup below).
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

/** The Pulumi SDK's files, as installed beside this program. */
const SDK = path.join(__dirname, "..", "node_modules", "@pulumi", "pulumi");

/** Puts `exports` in Node.js's module cache as the module `file`, so that requiring `file` returns it. */
function provide(file, exports) {
    const stand = new Module(file, module);
    stand.filename = file;
    stand.loaded = true;
    stand.exports = exports;
    Module._cache[file] = stand;
}

/**
 * The module `file`, loaded on first use: requiring it returns a stand-in whose first property read
 * loads the module. TypeScript's `import * as` reads `__esModule` when it imports: that read is
 * answered without loading.
 */
function loadOnFirstUse(file) {
    let loaded;
    const load = () => {
        if (loaded === undefined) {
            delete Module._cache[file];
            loaded = require(file);
        }
        return loaded;
    };
    provide(
        file,
        new Proxy(
            {},
            {
                get: (_, key) => (key === "__esModule" ? true : load()[key]),
                has: (_, key) => key in load(),
                ownKeys: () => Reflect.ownKeys(load()),
                getOwnPropertyDescriptor: (_, key) => {
                    const descriptor = Object.getOwnPropertyDescriptor(load(), key);
                    // A proxy may not report as fixed what its empty target does not have.
                    return descriptor && { ...descriptor, configurable: true };
                },
            },
        ),
    );
}

/**
 * The SDK's start-up work for what this program never uses, measured in docs/BENCHMARKS.md:
 *
 * - source-map-support, which the SDK's runner installs to map every stack trace through the SDK's
 *   source maps; the SDK takes a stack trace for every resource it registers. The program's own
 *   modules keep their lines (above), and its traces need no mapping.
 * - The Automation API (`pulumi.automation`), which the SDK's index loads with it: loaded on first use.
 * - The TypeScript compiler, with which closure serialization (`pulumi.runtime.serializeFunction`)
 *   parses functions: loaded on first use.
 * - The debugger session the runner opens before the program, with which closure serialization
 *   names the scripts it reports on: opened on first use instead. While a session is open, every
 *   module compiled is reported to it.
 *
 * An SDK laid out differently (another version) is left as it is: the program then only starts slower.
 */
function deferSdkStartup() {
    const file = (...parts) => path.join(SDK, ...parts);
    if (!fs.existsSync(file("package.json"))) return;
    try {
        provide(require.resolve("source-map-support/register", { paths: [SDK] }), {});
    } catch {
        // not installed: nothing to leave out
    }
    for (const lazy of [file("automation", "index.js"), file("typescript-shim.js")]) if (fs.existsSync(lazy)) loadOnFirstUse(lazy);
    const hooks = file("runtime", "closure", "v8Hooks.js");
    if (fs.existsSync(hooks)) {
        const v8Hooks = require(hooks);
        if (typeof v8Hooks.isInitializedAsync === "function") v8Hooks.isInitializedAsync = async () => {};
    }
}

deferSdkStartup();
