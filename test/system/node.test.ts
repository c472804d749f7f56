// The Node.js the project runs on: the one package.json's engines ask for, fetched by
// dev/setup/node-env.sh when the machine's is older, so that npm prints no engine warning.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const versions = JSON.parse(fs.readFileSync(path.join(ROOT, "dev", "toolchain", "versions.json"), "utf8"));
const needed = Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1]);

/** A directory with a `node` that claims to be `version` and does nothing else. */
function fakeNode(version: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-fake-node-"));
    const major = version.split(".")[0];
    fs.writeFileSync(path.join(dir, "node"), `#!/bin/sh\ncase "$1" in -p) echo ${major} ;; --version) echo v${version} ;; esac\n`, {
        mode: 0o755,
    });
    return dir;
}

/** `node --version` after sourcing node-env.sh from the project, with `dir` first on PATH. */
function nodeAfterNodeEnv(dir: string): string {
    return execFileSync("sh", ["-c", ". dev/setup/node-env.sh && node --version"], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        timeout: 120_000,
    }).trim();
}

describe("the Node.js the project runs on", function () {
    this.timeout(180_000);

    it("is a supported LTS, pinned where every external version is, and within package.json's engines", () => {
        assert.ok([22, 24].includes(needed) || needed > 24, `engines ${pkg.engines.node} asks for a supported Node.js`);
        assert.ok(Number(versions.node.split(".")[0]) >= needed, `the pinned ${versions.node} meets ${pkg.engines.node}`);
        assert.ok(
            Number(process.versions.node.split(".")[0]) >= needed,
            `the tests run on Node.js ${process.version}; npm test runs them on ${pkg.engines.node} (dev/setup/node-env.sh)`,
        );
    });

    it("is the one the workflow sets up, in every job", () => {
        const workflow = fs.readFileSync(path.join(ROOT, ".github", "workflows", "pulumi.yml"), "utf8");
        const set = [...workflow.matchAll(/node-version: *(\S+)/g)].map((m) => m[1]);
        assert.ok(set.length > 0, "the workflow sets up Node.js");
        assert.deepStrictEqual(new Set(set), new Set([versions.node.split(".")[0]]));
        assert.strictEqual((workflow.match(/actions\/setup-node@/g) ?? []).length, set.length, "every setup-node names the version");
    });

    it("makes npm ci print no engine warning", () => {
        // npm prints its warnings on stderr.
        const run = spawnSync("npm", ["ci", "--dry-run", "--no-audit", "--no-fund"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
        assert.strictEqual(run.status, 0, run.stderr);
        assert.doesNotMatch(run.stdout + run.stderr, /EBADENGINE/);
    });

    it("is fetched and put first on PATH when the machine's Node.js is older, and left alone otherwise", () => {
        const old = fakeNode("20.20.2");
        const recent = fakeNode(`${needed + 1}.0.0`);
        try {
            assert.strictEqual(nodeAfterNodeEnv(old), `v${versions.node}`);
            assert.ok(fs.existsSync(path.join(ROOT, ".cache", "node", versions.node, "bin", "node")));
            assert.strictEqual(nodeAfterNodeEnv(recent), `v${needed + 1}.0.0`);
        } finally {
            fs.rmSync(old, { recursive: true, force: true });
            fs.rmSync(recent, { recursive: true, force: true });
        }
    });
});
