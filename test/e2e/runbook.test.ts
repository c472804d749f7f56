// The README's runbook, run as written: the commands of its "On real clusters" block, in order, in a
// scratch copy of the project, against the tests' own two local clusters (instance e2e), with a
// local file backend. Only what must differ here is substituted (each substitution and each skipped
// line is listed below, with the reason), so the test breaks when a command of the README stops
// working as written.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ClusterSpec, KubeApi, kubeconfigPath } from "../../dev/local/localClusters";
import { followSlots } from "../../dev/local/localSlots";
import { deploymentEnv, localizeSites } from "../../dev/local/localStacks";
import { localImages } from "../../dev/local/nodeConfig";
import { readProjectFile, topologyIn } from "../../lib/topologyFile";
import { e2eClusters, E2E } from "../support/localClusters";

const ROOT = path.join(__dirname, "..", "..");
const BASE = path.join(ROOT, ".cache", "runbook");
/** The scratch copy of the project; its stacks' state is in STATE, kept between runs so that a run cleans up after an interrupted one. */
const PROJECT = path.join(BASE, "project");
const STATE = path.join(BASE, "state");
/** A namespace of its own, so that the runbook's objects are never mistaken for another test's. */
const NAMESPACE = "plumr-runbook";
const SITES = ["ohio", "mumbai"];
const POOL_LABEL = "node-role.kubernetes.io/plumr";

/** One command of the README's runbook block: its line number in README.md and its text, without its comment. */
interface RunbookLine {
    line: number;
    command: string;
}

/** The commands of the first `sh` block of README.md's section "On real clusters", comments and blank lines left out. */
export function runbookCommands(readme: string): RunbookLine[] {
    const lines = readme.split("\n");
    const section = lines.findIndex((l) => /^#{2,4} On real clusters/.test(l));
    assert.ok(section >= 0, 'README.md has no section "On real clusters"');
    const open = lines.findIndex((l, i) => i > section && l.startsWith("```sh"));
    const close = lines.findIndex((l, i) => i > open && l.startsWith("```"));
    assert.ok(open > section && close > open, 'README.md\'s "On real clusters" has no ```sh block');
    const commands: RunbookLine[] = [];
    for (let i = open + 1; i < close; i++) {
        const command = lines[i].replace(/\s+#\s.*$/, "").trim();
        if (command !== "" && !command.startsWith("#")) commands.push({ line: i + 1, command });
    }
    return commands;
}

/**
 * What the test does with each kind of command: run it as written, run it with a local
 * substitution, or skip it, saying why. A command that fits none fails the test, so that a new
 * line in the README is either run here or skipped with a reason.
 */
type Handling = { skip: string } | { run: (command: string) => string };

function handling(command: string, clusters: ClusterSpec[]): Handling {
    if (command === "npm ci")
        return { skip: "the scratch copy shares the project's installed node_modules; npm ci would install them again" };
    if (command.startsWith("kubectl label node "))
        return { skip: `the local clusters' pool nodes carry ${POOL_LABEL} already (checked before the first command)` };
    if (command.startsWith("cp /path/from/steinwurf/"))
        // The local clusters run the stand-ins for plumr and shm_printer (dev/stand-ins/README.md).
        return { run: (c) => c.replace("/path/from/steinwurf/", `${path.join(ROOT, "dev", "stand-ins")}/`) };
    const config = /^pulumi config set .*'plumr:access\.(\w+)\.kubeconfig' < ~\/\.kube\/(\w+)\.yaml$/.exec(command);
    if (config) {
        const cluster = clusters.find((c) => c.name === config[2]);
        assert.ok(cluster, `no local cluster ${config[2]}`);
        // The local cluster's kubeconfig, where the README has the user's.
        return { run: (c) => c.replace(`~/.kube/${config[2]}.yaml`, kubeconfigPath(cluster)) };
    }
    if (/^pulumi up -s \w+ --policy-pack policy$/.test(command)) return { run: (c) => c };
    if (/^(pulumi stack init \w+|npm run (preflight|verify|discover) -- \w+( --write)?|npm run allocate)$/.test(command))
        return { run: (c) => c };
    throw new Error(
        `the test does not know what to do with README.md's command ${JSON.stringify(command)}: run it, or skip it with a reason`,
    );
}

/** Copies the repository's files (as git lists them, with their changes) into the scratch project; node_modules is shared. */
function copyProject(): void {
    fs.rmSync(PROJECT, { recursive: true, force: true });
    const files = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" });
    assert.strictEqual(files.status, 0, files.stderr);
    for (const file of files.stdout.split("\0").filter(Boolean)) {
        if (!fs.existsSync(path.join(ROOT, file))) continue;
        fs.mkdirSync(path.dirname(path.join(PROJECT, file)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, file), path.join(PROJECT, file));
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(PROJECT, "node_modules"));
    // Every npm script installs the dependencies again when package-lock.json is newer than what is
    // installed (dev/setup/ensure-deps.sh): the copy keeps the repository's time.
    const lock = fs.statSync(path.join(ROOT, "package-lock.json"));
    fs.utimesSync(path.join(PROJECT, "package-lock.json"), lock.atime, lock.mtime);
}

/**
 * The README's step 2, deciding the topology in Pulumi.yaml, done for the local clusters: the
 * shipped topology with the local changes every local deployment has (routing none, the images
 * built from Debian packages and imported into the nodes), in a namespace of its own.
 */
function decideTopology(): void {
    const file = path.join(PROJECT, "Pulumi.yaml");
    const project = readProjectFile(file);
    const topology = topologyIn(project, file);
    localizeSites(topology);
    topology.binaries.installerImage = localImages().installer.name;
    for (const site of Object.values<any>(topology.sites)) site.namespace = NAMESPACE;
    fs.writeFileSync(file, YAML.stringify(project));
}

describe("the README's runbook, run as written on two local clusters", function () {
    this.timeout(60 * 60_000);
    let clusters: ClusterSpec[];
    let env: Record<string, string>;
    const outputs: string[] = [];

    /** Runs one shell command in the scratch project; its exit code and output. */
    const sh = (command: string, timeoutMs = 15 * 60_000) => {
        const result = spawnSync("bash", ["-c", command], {
            cwd: PROJECT,
            env: { ...process.env, ...env },
            encoding: "utf8",
            timeout: timeoutMs,
            maxBuffer: 64 << 20,
        });
        return {
            status: result.status,
            output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? `\n${result.error.message}` : ""}`,
        };
    };

    /** Destroys and removes the runbook's stacks, if a run (this one or an interrupted earlier one) made them. */
    const removeStacks = () => {
        const list = sh("pulumi stack ls --json");
        if (list.status !== 0) return;
        const names = (JSON.parse(list.output.slice(list.output.indexOf("["))) as { name: string }[]).map((s) => s.name);
        for (const site of [...SITES].reverse().filter((s) => names.includes(s))) {
            const destroyed = sh(`pulumi destroy -s ${site} --yes --non-interactive`);
            assert.strictEqual(destroyed.status, 0, `pulumi destroy -s ${site}:\n${destroyed.output}`);
            const removed = sh(`pulumi stack rm ${site} --yes --force --non-interactive`);
            assert.strictEqual(removed.status, 0, `pulumi stack rm ${site}:\n${removed.output}`);
        }
    };

    before(async () => {
        clusters = await e2eClusters();
        const home = path.join(BASE, "pulumi-home");
        fs.mkdirSync(STATE, { recursive: true });
        fs.mkdirSync(home, { recursive: true });
        env = {
            ...deploymentEnv({ stateDir: STATE, home }),
            // pulumi up asks for a confirmation at a terminal; the README's lines are run as written, answered here.
            PULUMI_SKIP_CONFIRMATIONS: "true",
        };
        // An interrupted run's stacks go first, destroyed with the stack files they left in the copy.
        if (fs.existsSync(path.join(PROJECT, "Pulumi.yaml"))) removeStacks();
        copyProject();
        decideTopology();
        for (const c of clusters) {
            const nodes = (await new KubeApi(c).get(`/api/v1/nodes`)).items as any[];
            const labelled = nodes.filter((n) => n.metadata.labels?.[POOL_LABEL] !== undefined).map((n) => n.metadata.name);
            assert.deepStrictEqual(labelled.sort(), c.realNodes.map((n) => n.name).sort(), `${c.name}'s pool nodes are labelled`);
        }
    });

    after(function () {
        this.timeout(20 * 60_000);
        if (env) removeStacks();
    });

    it("runs every command of README.md's runbook block, in order, each exiting 0, and ends with verify passing on both stacks", () => {
        const commands = runbookCommands(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
        const ups = commands.filter((c) => c.command.startsWith("pulumi up "));
        assert.deepStrictEqual([...new Set(ups.map((u) => u.command.split(" ")[3]))].sort(), [...SITES].sort(), "pulumi up of both stacks");
        const skipped: string[] = [];
        for (const { line, command } of commands) {
            const how = handling(command, clusters);
            if ("skip" in how) {
                skipped.push(`README.md:${line} ${command}: ${how.skip}`);
                continue;
            }
            const run = how.run(command);
            const started = Date.now();
            const result = sh(run);
            outputs.push(`README.md:${line} $ ${run} (${Math.round((Date.now() - started) / 1000)} s, exit ${result.status})`);
            assert.strictEqual(result.status, 0, `README.md:${line}: ${command} exited ${result.status}:\n${result.output.slice(-6000)}`);
            if (command.startsWith("npm run verify -- "))
                assert.match(
                    result.output,
                    /ohio-mumbai/,
                    `README.md:${line}: ${command} checked no end of link ohio-mumbai:\n${result.output}`,
                );
            const up = /^pulumi up -s (\w+)/.exec(command);
            if (up) {
                // In AWS the program routes each slot's range to its node; here the local underlay
                // stands in for the VPC and routes what the stack published (dev/local/localSlots.ts).
                const published = sh(`pulumi stack output sites --json --show-secrets -s ${up[1]}`);
                assert.strictEqual(published.status, 0, published.output);
                followSlots(E2E, JSON.parse(published.output));
            }
        }
        console.log(`      ${outputs.join("\n      ")}\n      skipped:\n      ${skipped.join("\n      ")}`);
        const verified = commands.filter((c) => c.command.startsWith("npm run verify -- ")).map((c) => c.command.split(" ").pop());
        assert.deepStrictEqual(verified.sort(), [...SITES].sort(), "the runbook ends with npm run verify on both stacks");
        assert.strictEqual(commands.at(-1)!.command.startsWith("npm run verify -- "), true, "verify is the runbook's last step");
    });
});
