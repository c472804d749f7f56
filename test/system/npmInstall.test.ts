// The npm install every command starts with (dev/setup/ensure-deps.sh): a decision on every
// dependency's install script, and a fresh install that prints no warning.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));

describe("the npm install", function () {
    this.timeout(300_000);

    it("decides on every dependency's install script in allowScripts, and on nothing else", () => {
        const lock = read("package-lock.json");
        const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
            .filter(([, entry]) => entry.hasInstallScript)
            .map(([where]) => where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length));
        assert.deepStrictEqual(Object.keys(read("package.json").allowScripts ?? {}).sort(), [...new Set(withScripts)].sort());
    });

    it("prints no npm warning on a fresh npm ci", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-npm-ci-"));
        try {
            for (const file of ["package.json", "package-lock.json"]) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
            const install = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir, encoding: "utf8" });
            assert.strictEqual(install.status, 0, install.stderr);
            assert.doesNotMatch(`${install.stdout}\n${install.stderr}`, /npm warn/i);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
