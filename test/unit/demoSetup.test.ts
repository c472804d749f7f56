// What npm run demo checks of the machine before it builds anything, and how it times its steps.
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Machine, unmetNeeds } from "../../dev/setup/machine";
import { duration, Steps } from "../../dev/setup/steps";

const ROOT = path.join(__dirname, "..", "..");
const READY: Machine = { platform: "linux", uid: 0, aptGet: true, goVersion: "1.26.8", cCompiler: true, freeGiB: 56, cores: 2 };

describe("what npm run demo needs of the machine", () => {
    it("passes a machine that has everything", () => {
        assert.deepStrictEqual(unmetNeeds(READY), []);
        assert.deepStrictEqual(unmetNeeds({ ...READY, goVersion: "1.27" }), []);
    });

    it("names each need that is not met, what was found and the fix", () => {
        const unmet = (change: Partial<Machine>) => unmetNeeds({ ...READY, ...change }).map((u) => [u.need, u.found]);
        assert.deepStrictEqual(unmet({ platform: "darwin" }), [["Linux", "darwin"]]);
        assert.deepStrictEqual(unmet({ uid: 1000 }), [["root", "user id 1000"]]);
        assert.deepStrictEqual(unmet({ aptGet: false }), [["Debian's apt-get", "no apt-get on PATH"]]);
        assert.deepStrictEqual(unmet({ goVersion: "1.25.3" }), [["Go 1.26 or newer", "Go 1.25.3"]]);
        assert.deepStrictEqual(unmet({ goVersion: undefined }), [["Go 1.26 or newer", "no go at /usr/local/go/bin or on PATH"]]);
        assert.deepStrictEqual(unmet({ cCompiler: false }), [["a C compiler", "no cc or gcc on PATH"]]);
        assert.deepStrictEqual(unmet({ freeGiB: 7.25 }), [["20 GiB free", "7.3 GiB free"]]);
        assert.deepStrictEqual(unmet({ cores: 1 }), [["2 cores", "1"]]);
        for (const u of unmetNeeds({ ...READY, uid: 1000, cCompiler: false })) assert.ok(u.fix.length > 20, u.need);
    });
});

describe("the demo's timed steps", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-steps-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("says each step as it starts, beats while it runs, keeps its time for the next run, and sums up", async () => {
        const lines: string[] = [];
        const times = path.join(dir, "times.json");
        const steps = new Steps(times, (line) => lines.push(line), 100);
        await steps.run("sleeping", "sleep", ["0.35"], dir);
        steps.start("thinking");
        steps.summary();
        assert.match(lines[0], /==> \[0s\] sleeping$/);
        assert.ok(lines.filter((l) => /^\[sleeping: 0s so far\]$/.test(l)).length >= 2, lines.join("\n"));
        assert.ok(lines.some((l) => /^ {2}sleeping {2}0s$/.test(l)) && lines.some((l) => /the whole run/.test(l)), lines.join("\n"));
        const kept = JSON.parse(fs.readFileSync(times, "utf8"));
        assert.ok(kept.sleeping >= 300 && kept.thinking >= 0, JSON.stringify(kept));
        const again: string[] = [];
        new Steps(times, (line) => again.push(line), 100).start("sleeping");
        assert.match(again[0], /sleeping \(0s last time\)$/);
        assert.deepStrictEqual([duration(45_000), duration(370_000), duration(3_720_000)], ["45s", "6m10s", "1h02m"]);
    });

    it("fails a step whose command fails, naming it", async () => {
        const steps = new Steps(path.join(dir, "times.json"), () => {}, 100);
        await assert.rejects(steps.run("failing", "sh", ["-c", "exit 3"], dir), /failing failed \(sh -c exit 3 exited 3\)/);
    });

    it("stops promptly on SIGTERM in the middle of a step, stopping the step's process, and says how to resume", async function () {
        this.timeout(30_000);
        const pidFile = path.join(dir, "pid");
        // A run whose step is a long sleep; the test sends SIGTERM once the sleep has started.
        const script = `
            const { Steps, Stopped } = require(${JSON.stringify(path.join(ROOT, "dev", "setup", "steps"))});
            const steps = new Steps(${JSON.stringify(path.join(dir, "times.json"))}, () => {});
            steps.run("sleeping", "sh", ["-c", "echo $$ > ${pidFile}; exec sleep 60"], ".").catch((err) => {
                console.log(err instanceof Stopped ? err.message : "other: " + err.message);
                process.exit(143);
            });`;
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT });
        let out = "";
        child.stdout.on("data", (chunk) => (out += chunk));
        for (let i = 0; i < 200 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
        const sleeper = Number(fs.readFileSync(pidFile, "utf8"));
        const sent = Date.now();
        child.kill("SIGTERM");
        const code = await new Promise((resolve) => child.on("exit", resolve));
        assert.strictEqual(code, 143);
        assert.ok(Date.now() - sent < 5_000, "it stops within seconds");
        assert.strictEqual(out.trim(), "SIGTERM: stopped while sleeping");
        assert.throws(() => process.kill(sleeper, 0), "the step's process is gone");
    });
});
