// A data-plane twin leaves nothing behind: stopped by SIGTERM, its process removes it and exits as
// the signal would have; killed hard, the next twin with the same prefix removes what it left, and
// nothing of anyone else's. Real processes and namespaces, so root only; no CNI plugins needed.
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { eventually, ip, leaseFile, listNamespaces, namespacesUnavailable, removeNamespace, Twin } from "../../dev/twin/twin";
import { smallEndpoints } from "../fixtures/twin-until-stopped";

const PREFIX = "cleanuptest";
const FIXTURE = path.join(__dirname, "..", "fixtures", "twin-until-stopped.ts");
/** Marks the processes a test's twin starts: they inherit it from the process that builds the twin. */
const MARK = "PLUMR_TWIN_CLEANUP_TEST";
/** Other software's namespaces that look like the twin's: same first letters, the old unprefixed naming, a role that is not one. */
const LOOKALIKES = [`plumr-twin-${PREFIX}x-0-r`, `${PREFIX}-0-r`, `plumr-twin-${PREFIX}-0-r0`];
/** 2 sites x (router, node, pod, one other worker) + one extra pod. */
const NAMESPACES = 9;

/** The twin namespaces of the test prefix, by name alone (not by the twin's own matcher, which is under test). */
const prefixNamespaces = () => listNamespaces().filter((ns) => ns.startsWith(`plumr-twin-${PREFIX}-`) && !LOOKALIKES.includes(ns));

/** The test prefix's namespaces that have files under /etc/netns (the pod's hosts file), by name alone. */
const prefixNamespaceFiles = () =>
    fs.existsSync("/etc/netns") ? fs.readdirSync("/etc/netns").filter((ns) => ns.startsWith(`plumr-twin-${PREFIX}-`)) : [];

/** The live processes carrying `mark` in their environment, except `except`. */
function markedProcesses(mark: string, except?: number): number[] {
    return fs
        .readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== except)
        .filter((pid) => {
            try {
                return fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`${MARK}=${mark}`);
            } catch {
                return false; // exited meanwhile
            }
        })
        .map(Number);
}

interface Run {
    child: ChildProcess;
    mark: string;
    dir: string;
    stderr: () => string;
}

function untilExit(child: ChildProcess, timeoutMs = 20_000): Promise<{ code: number | null; signal: string | null }> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal });
        });
    });
}

/** Starts the fixture process and returns once its twin is built and its pod's processes run. */
async function startTwinProcess(): Promise<Run> {
    const mark = `${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), FIXTURE, PREFIX], {
        env: { ...process.env, [MARK]: mark },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    try {
        await eventually("the twin to be built", () => /^twin built /m.test(stdout) || child.exitCode !== null, 30_000);
        assert.ok(child.exitCode === null, `the twin process ended early: ${stderr}`);
        // The container (a shell) and its child (sleep), inside the pod's namespace.
        await eventually("the pod's processes", () => markedProcesses(mark, child.pid).length >= 2, 10_000);
    } catch (err) {
        child.kill("SIGKILL");
        throw err;
    }
    const { dir } = JSON.parse(/^twin built (.*)$/m.exec(stdout)![1]);
    return { child, mark, dir, stderr: () => stderr };
}

/** Removes whatever a test left, without relying on the behaviour under test. */
function removeTestLeftovers(runs: Run[]): void {
    for (const ns of prefixNamespaces()) removeNamespace(ns);
    for (const ns of prefixNamespaceFiles()) fs.rmSync(path.join("/etc/netns", ns), { recursive: true, force: true });
    for (const run of runs) {
        run.child.kill("SIGKILL");
        for (const pid of markedProcesses(run.mark)) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                // exited meanwhile
            }
        }
        fs.rmSync(run.dir, { recursive: true, force: true });
    }
    fs.rmSync(leaseFile(PREFIX), { force: true });
}

/** Runs `action` and returns what it wrote with console.error. */
function stderrOf(action: () => void): string[] {
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => lines.push(args.join(" "));
    try {
        action();
    } finally {
        console.error = original;
    }
    return lines;
}

describe("data-plane twin: nothing left behind", function () {
    this.timeout(60_000);
    const unavailable = namespacesUnavailable();
    const runs: Run[] = [];

    before(function () {
        if (unavailable) {
            console.log(`    skipped: ${unavailable}`);
            return this.skip();
        }
        removeTestLeftovers([]);
        for (const ns of LOOKALIKES) {
            if (listNamespaces().includes(ns)) removeNamespace(ns);
            ip("netns", "add", ns);
        }
    });

    // Each test starts from nothing of the prefix, whatever the one before it left.
    afterEach(() => removeTestLeftovers(runs.splice(0)));

    after(() => {
        if (!unavailable) for (const ns of LOOKALIKES) removeNamespace(ns);
    });

    it("stopped by SIGTERM, removes its namespaces, their /etc/netns files, processes and temp dir, and exits with 143", async () => {
        const run = await startTwinProcess();
        runs.push(run);
        assert.strictEqual(prefixNamespaces().length, NAMESPACES);
        assert.strictEqual(prefixNamespaceFiles().length, 1, "the pod's hosts file");
        run.child.kill("SIGTERM");
        assert.deepStrictEqual(await untilExit(run.child), { code: 143, signal: null }, run.stderr());
        assert.deepStrictEqual(prefixNamespaces(), []);
        assert.deepStrictEqual(prefixNamespaceFiles(), []);
        await eventually("the twin's processes to be gone", () => markedProcesses(run.mark).length === 0, 5_000);
        assert.ok(!fs.existsSync(run.dir), "the temp dir is removed");
        assert.ok(!fs.existsSync(leaseFile(PREFIX)), "the prefix is free again");
    });

    it("leaves the namespaces of a twin whose process still runs alone, refusing its prefix", async () => {
        const run = await startTwinProcess();
        runs.push(run);
        const processes = markedProcesses(run.mark, run.child.pid);
        assert.throws(() => new Twin(PREFIX, smallEndpoints(), "bridge").destroy(), new RegExp(`in use by process ${run.child.pid}$`));
        assert.strictEqual(prefixNamespaces().length, NAMESPACES);
        assert.strictEqual(prefixNamespaceFiles().length, 1, "its pod's hosts file stays");
        assert.deepStrictEqual(markedProcesses(run.mark, run.child.pid), processes);
        run.child.kill("SIGTERM");
        await untilExit(run.child);
    });

    it("removes what a run killed with SIGKILL left, and nothing else, then builds", async () => {
        const run = await startTwinProcess();
        runs.push(run);
        run.child.kill("SIGKILL");
        assert.deepStrictEqual(await untilExit(run.child), { code: null, signal: "SIGKILL" });
        const left = prefixNamespaces();
        assert.strictEqual(left.length, NAMESPACES, "the killed run left its namespaces");
        assert.strictEqual(prefixNamespaceFiles().length, 1, "and its pod's hosts file");
        assert.ok(markedProcesses(run.mark).length >= 2, "and its pod's processes");

        let twin: Twin | undefined;
        const said = stderrOf(() => (twin = new Twin(PREFIX, smallEndpoints(), "bridge")));
        try {
            assert.strictEqual(said.length, 1, said.join("\n"));
            const [, listed] = /removed .* \d+ namespaces \(([^)]*)\)/.exec(said[0]) ?? [];
            assert.deepStrictEqual(listed?.split(", ").sort(), left.sort(), said[0]);
            assert.deepStrictEqual(prefixNamespaces(), []);
            assert.deepStrictEqual(prefixNamespaceFiles(), [], "the killed run's /etc/netns files are removed");
            await eventually("the killed run's processes to be gone", () => markedProcesses(run.mark).length === 0, 5_000);
            assert.ok(!fs.existsSync(run.dir), "the killed run's temp dir is removed");
            const namespaces = listNamespaces();
            for (const ns of LOOKALIKES) assert.ok(namespaces.includes(ns), `${ns} is not the twin's and stays`);
            twin!.build();
            assert.strictEqual(prefixNamespaces().length, NAMESPACES - 1, "the new twin builds (without the extra pod)");
        } finally {
            twin?.destroy();
        }
        assert.deepStrictEqual(prefixNamespaces(), []);
    });
});
