// npm run demo's command line and its check of the machine: both answer before anything is built
// or started, and a bad option changes nothing.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const TIMES = path.join(ROOT, ".cache", "step-times.json");

/** Runs commands/demo.ts with `args`, as `user` (default: this one); its exit code and what it said. */
function demo(args: string[], user?: number) {
    const command = [process.execPath, "-r", "ts-node/register/transpile-only", "commands/demo.ts", ...args];
    const asUser = user === undefined ? [] : ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups"];
    const [file, ...rest] = [...asUser, ...command];
    const result = spawnSync(file, rest, { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, HOME: "/tmp" } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What a run could have changed: the worktree's state and the kept step times. */
const footprint = () => [
    execFileSync("git", ["status", "--porcelain", "--ignored", "--", ".cache/step-times.json", ".cache/demo"], {
        cwd: ROOT,
        encoding: "utf8",
    }),
    fs.existsSync(TIMES) ? fs.statSync(TIMES).mtimeMs : 0,
];

describe("npm run demo's command line", function () {
    this.timeout(120_000);

    it("answers --help with its usage, needs and exit codes, before anything else", () => {
        const before = footprint();
        const help = demo(["--help"]);
        assert.strictEqual(help.status, 0, help.stderr);
        for (const said of [
            "usage: plumr demo",
            "npm run demo",
            "--environments",
            "--down",
            "Needs: Linux, root",
            "about 45",
            "Exit codes",
        ])
            assert.ok(help.stdout.includes(said), said);
        assert.doesNotMatch(help.stdout, /==>/, "no step started");
        assert.deepStrictEqual(footprint(), before);
    });

    it("exits 2 with the usage on an unknown option or an argument, and changes nothing", () => {
        const before = footprint();
        for (const args of [["--chek"], ["ohio"], ["--down", "--environments"]]) {
            const bad = demo(args);
            assert.strictEqual(bad.status, 2, args.join(" "));
            assert.match(bad.stderr, /usage: plumr demo/);
            assert.doesNotMatch(bad.stdout, /==>/);
        }
        assert.deepStrictEqual(footprint(), before);
    });

    it("fails at once for a user who is not root, naming the need and the fix, before any build", function () {
        if (process.getuid?.() !== 0) this.skip();
        const before = footprint();
        const run = demo([], 65534);
        assert.strictEqual(run.status, 1, run.stderr);
        assert.match(run.stderr, /- root: found user id 65534\n {4}fix: run it as root/);
        assert.doesNotMatch(run.stdout, /==>/, "no step started");
        assert.deepStrictEqual(footprint(), before);
    });
});
