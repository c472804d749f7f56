// A bad configuration fails `pulumi preview` while the program's module loads, before its async
// entry point runs, with a RunError that carries the planner's message and no stack frames (see
// index.ts for why). The real CLI and language host run the program on a project in a temporary
// directory with a local file backend; no cluster is needed, since nothing is registered.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigErrorProjects, configErrorProjects, PLANNER_MESSAGE, timedPreview } from "../../dev/local/configErrorProjects";

const INDEX = fs.realpathSync(path.join(__dirname, "..", "..", "index.ts"));

/**
 * A module node preloads in the program's process: it records the first error the process reports
 * as uncaught (the runner's path for a failed program), and whether index.ts had finished loading
 * by then (Node.js drops a module that threw while loading from its cache).
 */
function probe(out: string): string {
    return `const fs = require("fs");
let recorded = false;
function record(err) {
    if (recorded) return;
    recorded = true;
    const entry = require.cache[${JSON.stringify(INDEX)}];
    fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify({
        message: String(err && err.message),
        stack: String(err && err.stack),
        entryLoaded: Boolean(entry && entry.loaded),
    }));
}
process.prependListener("unhandledRejection", record);
process.prependListener("uncaughtException", record);
`;
}

describe("a configuration error", function () {
    this.timeout(5 * 60_000);
    let tmp: string;
    let projects: ConfigErrorProjects | undefined;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-failfast-"));
        fs.writeFileSync(path.join(tmp, "probe.js"), probe(path.join(tmp, "error.json")));
        projects = configErrorProjects({ nodeargs: `--require ${path.join(tmp, "probe.js")}` });
    });

    after(() => {
        projects?.cleanup();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("fails preview while the program loads, with the planner's message and no stack frames", async () => {
        const run = await timedPreview(projects!, projects!.configError);
        assert.notStrictEqual(run.exitCode, 0, run.output);
        assert.match(run.output, PLANNER_MESSAGE);
        assert.doesNotMatch(run.output, /kubernetes:|aws:|command:|pulumi:providers:/, "nothing but the stack is registered");

        const error = JSON.parse(fs.readFileSync(path.join(tmp, "error.json"), "utf8"));
        assert.match(error.message, PLANNER_MESSAGE);
        assert.strictEqual(error.entryLoaded, false, "the error is raised while index.ts loads, before its async entry point runs");
        assert.doesNotMatch(error.stack, /\n\s+at /, `the error reaches the runner without stack frames:\n${error.stack}`);
    });
});
