// The user commands' one entry point (commands/plumr, as npx plumr and the npm scripts run it): a
// strict command line (--help exits 0 with the usage on stdout, a wrong one exits 2 with it on
// stderr and changes nothing), --json alone on stdout, and a prompt stop on SIGTERM, even while the
// command waits for a synchronous child: one line, exit 143, nothing left running or on disk.
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, UsageError } from "../../lib/commandLine";
import { STACK_OPTIONS, stackArgs } from "../../lib/stackArgs";

const ROOT = path.join(__dirname, "..", "..");
const PLUMR = path.join(ROOT, "commands", "plumr");
const COMMANDS = ["allocate", "stacks", "preflight", "verify", "discover", "demo"];

/** Every file under `dir`, with its contents and modification time: what a run could have changed. */
function footprint(dir: string): string {
    const hash = crypto.createHash("sha256");
    const walk = (at: string) => {
        for (const entry of fs.readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const file = path.join(at, entry.name);
            hash.update(`${path.relative(dir, file)}\0`);
            if (entry.isDirectory()) walk(file);
            else hash.update(`${fs.statSync(file).mtimeMs}\0`).update(fs.readFileSync(file));
        }
    };
    walk(dir);
    return hash.digest("hex");
}

/** Runs `plumr <args>` in `cwd`; its exit code and what it said. */
function plumr(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
    const result = spawnSync(PLUMR, args, { cwd, env, encoding: "utf8", timeout: 60_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes an executable shell script. */
const script = (file: string, lines: string[]) => fs.writeFileSync(file, ["#!/bin/sh", ...lines, ""].join("\n"), { mode: 0o755 });

/** What a run left in its temporary directory, but the compile cache some modules keep there on purpose (v8-compile-cache). */
const leftIn = (tmp: string) => fs.readdirSync(tmp).filter((name) => !name.startsWith("v8-compile-cache"));

/** Whether process `pid` still runs (a zombie does not). */
function running(pid: number): boolean {
    try {
        return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

describe("plumr, the commands' entry point", function () {
    this.timeout(120_000);
    let dir: string;
    /** A project of its own: the shipped one's files, its allocations file not written yet (allocate would write it). */
    let project: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-cli-"));
        project = path.join(dir, "project");
        fs.mkdirSync(path.join(project, "plumr"), { recursive: true });
        for (const file of fs.readdirSync(ROOT).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f)))
            fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
        fs.copyFileSync(path.join(ROOT, "plumr", "config.template.json"), path.join(project, "plumr", "config.template.json"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("lists the commands with plumr --help, each of them commands/<command>.ts; no command or an unknown one exits 2", () => {
        const help = plumr(["--help"], project);
        assert.strictEqual(help.status, 0, help.stderr);
        for (const command of COMMANDS) {
            assert.match(help.stdout, new RegExp(`^  ${command} `, "m"));
            assert.ok(fs.existsSync(path.join(ROOT, "commands", `${command}.ts`)), command);
        }
        assert.match(help.stdout, /Exit codes: 0 ok, 1 .*, 2 usage/);
        for (const args of [[], ["nope"]]) {
            const bad = plumr(args, project);
            assert.strictEqual(bad.status, 2, args.join(" "));
            assert.strictEqual(bad.stdout, "");
            assert.match(bad.stderr, /usage: plumr <command>/);
        }
    });

    for (const command of COMMANDS) {
        it(`${command}: --help prints its usage on stdout and exits 0; an unknown option exits 2 with it on stderr, changing nothing`, () => {
            const before = footprint(project);
            const help = plumr([command, "--help"], project);
            assert.strictEqual(help.status, 0, help.stderr);
            assert.match(help.stdout, new RegExp(`^usage: plumr ${command}`));
            assert.match(help.stdout, /Exit codes: 0 ok/);
            if (command === "allocate") assert.strictEqual(plumr([command, "-h"], project).stdout, help.stdout);
            // A typo of an option every command but demo has, and of demo's.
            const typo = command === "demo" ? "--dwon" : "--chek";
            const bad = plumr([command, typo], project);
            assert.strictEqual(bad.status, 2, bad.stderr);
            assert.strictEqual(bad.stdout, "", "nothing on stdout");
            assert.ok(bad.stderr.startsWith(`plumr ${command}: Unknown option '${typo}'\n\nusage: plumr ${command}`), bad.stderr);
            assert.strictEqual(footprint(project), before, "no file written");
        });
    }

    it("exits 2 for a missing option value or an argument a command does not take, before any work", () => {
        const before = footprint(project);
        for (const args of [
            ["allocate", "--environment"],
            ["allocate", "a.yaml", "b.yaml"],
            ["stacks", "ohio"],
            ["verify", "ohio", "mumbai"],
            ["preflight", "--cwd"],
            ["discover", "--json", "ohio"],
            ["demo", "--down", "--environments"],
        ]) {
            const bad = plumr(args, project);
            assert.strictEqual(bad.status, 2, `${args.join(" ")}: ${bad.stderr}`);
            assert.match(bad.stderr, new RegExp(`^plumr ${args[0]}: .*\n\nusage: plumr ${args[0]}`), args.join(" "));
        }
        assert.strictEqual(footprint(project), before, "no file written");
    });

    it("reads <stack> or --environment for preflight, verify and discover, strictly", () => {
        const example = path.join(ROOT, "examples", "environments");
        const line = { name: "verify", usage: "", options: STACK_OPTIONS, positionals: 1 };
        const read = (args: string[]) => {
            const parsed = parse(line, args);
            assert.notStrictEqual(parsed, "help");
            return stackArgs(parsed as Exclude<typeof parsed, "help">);
        };
        assert.deepStrictEqual(read(["--environment", "staging", "--cwd", example, "--json"]), {
            stacks: ["staging-ohio", "staging-mumbai"],
            json: true,
            workDir: example,
        });
        assert.deepStrictEqual(read(["production-ohio", "--cwd", example]), { stacks: ["production-ohio"], json: false, workDir: example });
        assert.throws(() => read(["--cwd", example]), UsageError, "neither a stack nor an environment");
        assert.throws(() => read(["staging-ohio", "--environment", "staging", "--cwd", example]), UsageError, "both");
        assert.throws(() => read(["--environment"]), UsageError, "an environment without its name");
        assert.throws(() => read(["--jsn", "ohio"]), UsageError, "an unknown option");
        assert.strictEqual(parse(line, ["--jsn", "--help"]), "help");
    });

    describe("against stand-ins of pulumi and kubectl", () => {
        let tools: string;
        /** Where the stand-ins write their pids, and what makes the stand-in kubectl wait. */
        let state: string;

        before(() => {
            tools = path.join(dir, "tools");
            state = path.join(dir, "state");
            fs.mkdirSync(tools);
            fs.mkdirSync(state);
            // A deployed stack ohio with one link end, its kubeconfig a file: what verify reads through the Pulumi CLI.
            const end = { site: "ohio", node: "node-a", address: "10.10.1.200", tunnelIp: "10.4.0.1", port: 5000, range: "10.10.0.0/16" };
            const outputs = { sites: { ohio: { namespace: "plumr", endpoints: { "ohio-mumbai": end } } }, links: {} };
            fs.writeFileSync(path.join(state, "outputs.json"), JSON.stringify(outputs));
            fs.writeFileSync(path.join(state, "kubeconfig"), "apiVersion: v1\nkind: Config\n");
            const access = { ohio: { kubeconfig: path.join(state, "kubeconfig") } };
            fs.writeFileSync(
                path.join(state, "config.json"),
                JSON.stringify({ "plumr:access": { value: JSON.stringify(access), secret: true } }),
            );
            script(path.join(tools, "pulumi"), [
                'case "$1" in',
                `    version) echo v${require("@pulumi/pulumi/package.json").version} ;;`,
                `    stack) case "$2" in select) ;; output) cat '${state}/outputs.json' ;; *) exit 1 ;; esac ;;`,
                `    config) cat '${state}/config.json' ;;`,
                '    *) echo "the stand-in pulumi knows no such command: $*" >&2; exit 1 ;;',
                "esac",
            ]);
            // A cluster with no pods at all; it answers after a while when told to.
            script(path.join(tools, "kubectl"), [
                `echo $$ >> '${state}/kubectl.pids'`,
                `[ -f '${state}/slow' ] && exec sleep 120`,
                'echo \'{"kind":"List","items":[]}\'',
            ]);
            // A git that hangs: git diff of stacks --changed-since, a synchronous step.
            script(path.join(tools, "git"), [
                `echo $$ > '${state}/git.pid'`,
                `[ -f '${state}/git-ignores-sigterm' ] && trap '' TERM`,
                "exec sleep 120",
            ]);
        });

        const env = (tmp: string) => ({ ...process.env, PATH: `${tools}${path.delimiter}${process.env.PATH}`, TMPDIR: tmp });

        it("prints verify --json's reports alone on stdout, a document JSON.parse reads, and exits 1 for the failing end", () => {
            const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
            const result = plumr(["verify", "ohio", "--json", "--cwd", project], project, env(tmp));
            assert.strictEqual(result.status, 1, result.stderr);
            const reports = JSON.parse(result.stdout);
            assert.strictEqual(result.stdout, `${JSON.stringify(reports, null, 2)}\n`, "nothing but the document");
            assert.deepStrictEqual(
                reports.map((r: any) => [r.link, r.site, r.ok, r.checks.pod.detail]),
                [["ohio-mumbai", "ohio", false, "no endpoint pod with label plumr/link=ohio-mumbai in namespace plumr"]],
            );
            assert.deepStrictEqual(leftIn(tmp), [], "its temporary kubeconfig directory removed");
        });

        it("prints preflight --json's checks alone on stdout too: a configuration the stand-in pulumi lacks fails, no cluster read", () => {
            const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
            const pids = path.join(state, "kubectl.pids");
            fs.rmSync(pids, { force: true });
            const result = plumr(["preflight", "ohio", "--json", "--cwd", project], project, env(tmp));
            assert.strictEqual(result.status, 1, result.stderr);
            const checks = JSON.parse(result.stdout);
            assert.strictEqual(result.stdout, `${JSON.stringify(checks, null, 2)}\n`, "nothing but the document");
            assert.deepStrictEqual(
                checks.map((c: any) => [c.stack, c.check, c.ok]),
                [["ohio", "configuration", false]],
            );
            assert.ok(!fs.existsSync(pids), "no kubectl run");
        });

        /**
         * Starts `plumr <args>`, waits until `pidFile` names the stand-in it waits for, sends SIGTERM;
         * resolves with its exit code, what it said on stderr, how long it took to stop, and that stand-in's pid.
         */
        async function stopWithSigterm(args: string[], pidFile: string, tmp: string) {
            const child: ChildProcess = spawn(PLUMR, args, { cwd: project, env: env(tmp), stdio: ["ignore", "pipe", "pipe"] });
            let stderr = "";
            child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
            const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
            for (const deadline = Date.now() + 30_000; !fs.existsSync(pidFile);) {
                if (Date.now() > deadline) throw new Error(`${args.join(" ")} never reached its stand-in: ${stderr}`);
                await new Promise((r) => setTimeout(r, 50));
            }
            const pid = Number(fs.readFileSync(pidFile, "utf8").trim().split("\n")[0]);
            await new Promise((r) => setTimeout(r, 200));
            const sent = Date.now();
            child.kill("SIGTERM");
            const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000).unref());
            const code = await Promise.race([exited, timeout]);
            if (code === "timeout") child.kill("SIGKILL");
            return { code, stderr, ms: Date.now() - sent, pid };
        }

        it("stops the preflight's read of a cluster on SIGTERM: kubectl proxy ended, the kubeconfig's copy removed", async () => {
            const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
            const cluster = fs.mkdtempSync(path.join(dir, "cluster-"));
            const kubectl = fs.mkdtempSync(path.join(dir, "kubectl-"));
            fs.copyFileSync(path.join(ROOT, "test", "support", "fakeKubectl.js"), path.join(kubectl, "kubectl"));
            fs.chmodSync(path.join(kubectl, "kubectl"), 0o755);
            // The cluster answers /version only once a request that never comes has arrived.
            fs.writeFileSync(path.join(cluster, "answers.json"), JSON.stringify({ answers: {}, hold: { "GET /version": "GET /never" } }));
            const read = [
                'const { stopOnSignal } = require("./lib/interrupts");',
                "stopOnSignal((signal) => `${signal}: stopped`);",
                'require("./program/clusterReader").readCluster({ kubeconfig: "apiVersion: v1\\nkind: Config\\n" }, { openshift: false, aws: false, rights: [] });',
            ].join("\n");
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", read], {
                cwd: ROOT,
                env: { ...process.env, PATH: `${kubectl}${path.delimiter}${process.env.PATH}`, TMPDIR: tmp, PLUMR_FAKE_KUBECTL: cluster },
                stdio: ["ignore", "ignore", "pipe"],
            });
            let stderr = "";
            child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
            const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
            for (const deadline = Date.now() + 30_000; !fs.existsSync(path.join(cluster, "requests"));) {
                if (Date.now() > deadline) throw new Error(`the cluster was never asked: ${stderr}`);
                await new Promise((r) => setTimeout(r, 50));
            }
            const copy = path.dirname(fs.readFileSync(path.join(cluster, "kubeconfig-path"), "utf8"));
            assert.ok(fs.existsSync(copy) && copy.startsWith(tmp), copy);
            child.kill("SIGTERM");
            assert.strictEqual(await exited, 143, stderr);
            assert.strictEqual(stderr, "SIGTERM: stopped\n");
            await new Promise((r) => setTimeout(r, 300));
            const proxy = Number(fs.readFileSync(path.join(cluster, "pid"), "utf8"));
            const proxyRuns = running(proxy);
            if (proxyRuns) process.kill(proxy, "SIGKILL");
            assert.ok(!proxyRuns, "kubectl proxy ended");
            assert.deepStrictEqual(leftIn(tmp), [], "the kubeconfig's copy removed");
        });

        for (const ignores of [false, true]) {
            it(`stops promptly on SIGTERM while waiting for a synchronous child${ignores ? " that ignores SIGTERM" : ""}: exit 143, one line, nothing left`, async () => {
                const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
                const pidFile = path.join(state, "git.pid");
                fs.rmSync(pidFile, { force: true });
                if (ignores) fs.writeFileSync(path.join(state, "git-ignores-sigterm"), "");
                try {
                    const stop = await stopWithSigterm(["stacks", "--changed-since", "HEAD"], pidFile, tmp);
                    assert.strictEqual(stop.code, 143, stop.stderr);
                    // Well before the child's own end (it sleeps 120 s), however busy the machine.
                    assert.ok(stop.ms < 20_000, `stopped after ${stop.ms} ms`);
                    assert.strictEqual(stop.stderr, "SIGTERM: plumr stacks stopped; it changed nothing: run it again\n");
                    await new Promise((r) => setTimeout(r, 100));
                    assert.ok(!running(stop.pid), "the synchronous child ended");
                    assert.deepStrictEqual(leftIn(tmp), []);
                } finally {
                    fs.rmSync(path.join(state, "git-ignores-sigterm"), { force: true });
                }
            });
        }

        it("stops verify on SIGTERM while kubectl answers: its temporary directory removed, no kubectl left running", async () => {
            const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
            const pidFile = path.join(state, "kubectl.pids");
            fs.rmSync(pidFile, { force: true });
            fs.writeFileSync(path.join(state, "slow"), "");
            try {
                const stop = await stopWithSigterm(["verify", "ohio", "--cwd", project], pidFile, tmp);
                assert.strictEqual(stop.code, 143, stop.stderr);
                assert.ok(stop.ms < 20_000, `stopped after ${stop.ms} ms`);
                assert.strictEqual(stop.stderr, "SIGTERM: plumr verify stopped; it changed nothing: run it again\n");
                await new Promise((r) => setTimeout(r, 300));
                const kubectls = fs.readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
                assert.deepStrictEqual(
                    kubectls.filter((pid) => running(pid)),
                    [],
                    "every kubectl it started has ended",
                );
                assert.deepStrictEqual(leftIn(tmp), [], "its temporary kubeconfig directory removed");
            } finally {
                fs.rmSync(path.join(state, "slow"), { force: true });
            }
        });
    });
});

describe("a command that stops on signals itself (the demo)", () => {
    it("says its own line when a signal comes while a cleanup is registered, after the cleanup, and exits 143", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-stop-"));
        const marker = path.join(dir, "cleaned");
        const script = [
            'const { describeStop, onInterrupt } = require("./lib/interrupts");',
            "describeStop((signal) => `${signal}: stopped while starting the local clusters; run it again to resume.`);",
            `onInterrupt(() => require("fs").writeFileSync(${JSON.stringify(marker)}, "yes"));`,
            'console.log("ready");',
            "setInterval(() => {}, 1000);",
        ].join("\n");
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
            cwd: ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        try {
            await new Promise<void>((resolve) =>
                child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve()),
            );
            child.kill("SIGTERM");
            assert.strictEqual(await exited, 143, stderr);
            assert.strictEqual(stderr, "SIGTERM: stopped while starting the local clusters; run it again to resume.\n");
            assert.strictEqual(fs.readFileSync(marker, "utf8"), "yes");
        } finally {
            child.kill("SIGKILL");
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
