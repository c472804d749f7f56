// npm run bench:configerror: how long `pulumi preview` takes to fail on a configuration error.
//
//   empty          a program that does nothing but throw a RunError at its top level: what any
//                  failed preview costs (CLI, language host, Node.js, ts-node, the SDK);
//   config error   this program with a bad topology (links[0].ends[0].address outside its node's
//                  range): the planner's message;
//   program load   a program that loads this one's modules (program.ts and everything it
//                  imports), then throws like the empty one: what loading the program costs.
//
// A configuration error fails before any resource is registered, so no cluster is needed: each
// project runs the toolchain's CLI and language host with a local file backend, in a temporary
// directory under .cache (removed at the end). The three are run in turn, RUNS times each after a
// warm-up round; wall time per run, and CPU time (user + system of the CLI and every process under
// it, from bash's `times`). Results go to bench/configerror.json; medians, minimum and maximum are
// printed.
//
//   npm run bench:configerror
//   BENCH_REPETITIONS=3 npx ts-node --transpile-only scripts/benchConfigError.ts
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import versions from "../toolchain/versions.json";
import { onInterrupt } from "./interrupts";
import { median } from "./stats";
import { printTable } from "./table";

const ROOT = path.join(__dirname, "..");
const TOOLCHAIN = process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain");
const OUT = path.join(ROOT, "bench", "configerror.json");
/** The stack of every project: a site's, so that the stack deploys that site by default. */
const STACK = "ohio";
/** One run's bound: far above what a failed preview takes, even on a busy machine. */
const RUN_TIMEOUT_MS = 180_000;

/** The address the bad topology gives the first link's first end: outside its node's 10.10.1.0/24. */
const BAD_ADDRESS = "10.10.2.200";
/** What the planner says about it. */
export const PLANNER_MESSAGE = /plumr:topology\.links\[0\]\.ends\[0\]\.address = "10\.10\.2\.200": outside node/;
const EMPTY_MESSAGE = "the empty program fails at its top level";
const LOAD_MESSAGE = "the program's modules are loaded";

/** The three projects, in one temporary directory, each with its stack initialized. */
export interface ConfigErrorProjects {
    dir: string;
    /** The environment every Pulumi command runs with: the toolchain's CLI, a local file backend. */
    env: Record<string, string>;
    /** Project directories. */
    empty: string;
    configError: string;
    programLoad: string;
    /** Removes the directory (and unregisters its removal on interrupt). */
    cleanup(): void;
}

export interface ProjectOptions {
    /** Extra arguments for node when it runs the config-error project's program (`nodeargs`). */
    nodeargs?: string;
}

const RUNTIME = { name: "nodejs", options: { typescript: true } };

function write(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
}

/**
 * A program in `dir` of its own (its own package.json, so that the repository's does not name the
 * entry point), whose index.ts runs `body`. Under .cache, so that it resolves the repository's
 * node_modules.
 */
function ownProgram(dir: string, name: string, body: string): void {
    write(path.join(dir, "Pulumi.yaml"), YAML.stringify({ name, runtime: RUNTIME }));
    write(path.join(dir, "package.json"), JSON.stringify({ name, private: true, main: "index.ts" }) + "\n");
    write(path.join(dir, "index.ts"), `import * as pulumi from "@pulumi/pulumi";\n${body}`);
}

/** The repository's Pulumi.yaml with a bad topology (and AWS routing none), running the repository's program. */
function configErrorProject(dir: string, options: ProjectOptions): void {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const topology = project.config["plumr:topology"].value;
    for (const site of Object.values<any>(topology.sites)) if (site.aws) site.aws = { region: site.aws.region, routing: "none" };
    topology.binaries.dir = path.join(ROOT, "stand-ins");
    topology.configTemplate = path.join(ROOT, topology.configTemplate);
    topology.allocations = path.join(ROOT, topology.allocations ?? "plumr/allocations.json");
    topology.links[0].ends[0].address = BAD_ADDRESS;
    project.main = path.relative(dir, ROOT);
    if (options.nodeargs) project.runtime = { ...RUNTIME, options: { ...RUNTIME.options, nodeargs: options.nodeargs } };
    write(path.join(dir, "Pulumi.yaml"), YAML.stringify(project));
}

function pulumi(projects: { env: Record<string, string> }, cwd: string, args: string[]): void {
    execFileSync(path.join(TOOLCHAIN, "bin", "pulumi"), [...args, "--non-interactive"], {
        cwd,
        env: { ...process.env, ...projects.env },
        stdio: "pipe",
        timeout: RUN_TIMEOUT_MS,
    });
}

/** Makes the three projects and their stacks. The caller removes them with `cleanup`. */
export function configErrorProjects(options: ProjectOptions = {}): ConfigErrorProjects {
    for (const tool of ["pulumi", "pulumi-language-nodejs"])
        if (!fs.existsSync(path.join(TOOLCHAIN, "bin", tool)))
            throw new Error(`${path.join(TOOLCHAIN, "bin", tool)} is missing: run bash scripts/toolchain.sh pulumi language_host`);
    fs.mkdirSync(path.join(ROOT, ".cache"), { recursive: true });
    const dir = fs.mkdtempSync(path.join(ROOT, ".cache", "configerror-"));
    const remove = () => fs.rmSync(dir, { recursive: true, force: true });
    const unregister = onInterrupt(remove);
    const cleanup = () => {
        remove();
        unregister();
    };
    try {
        const projects: ConfigErrorProjects = {
            dir,
            env: {
                PATH: `${path.join(TOOLCHAIN, "bin")}:${process.env.PATH}`,
                PULUMI_HOME: path.join(dir, "pulumi-home"),
                PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
                PULUMI_CONFIG_PASSPHRASE: "plumr-bench",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_NODEJS_TRANSPILE_ONLY: "true",
                PULUMI_SKIP_CHECKPOINTS: "true",
            },
            empty: path.join(dir, "empty"),
            configError: path.join(dir, "config-error"),
            programLoad: path.join(dir, "program-load"),
            cleanup,
        };
        fs.mkdirSync(path.join(dir, "state"));
        ownProgram(projects.empty, "empty", `throw new pulumi.RunError(${JSON.stringify(EMPTY_MESSAGE)});\n`);
        configErrorProject(projects.configError, options);
        const program = path.relative(projects.programLoad, path.join(ROOT, "program"));
        ownProgram(
            projects.programLoad,
            "program-load",
            `import "${program}";\nthrow new pulumi.RunError(${JSON.stringify(LOAD_MESSAGE)});\n`,
        );
        // Compiled with the repository's compiler options and transpiler, as the program itself is.
        for (const project of [projects.empty, projects.programLoad]) {
            const tsconfig = path.relative(project, path.join(ROOT, "tsconfig.json"));
            write(path.join(project, "tsconfig.json"), JSON.stringify({ extends: tsconfig }) + "\n");
        }
        for (const project of [projects.empty, projects.configError, projects.programLoad])
            pulumi(projects, project, ["stack", "init", STACK]);
        const kubeconfig = path.join(dir, "kubeconfig");
        write(kubeconfig, "apiVersion: v1\nkind: Config\n");
        pulumi(projects, projects.configError, ["config", "set", "--secret", "--path", `plumr:access.${STACK}.kubeconfig`, kubeconfig]);
        return projects;
    } catch (err) {
        cleanup();
        throw err;
    }
}

export interface PreviewRun {
    exitCode: number | null;
    /** What the CLI printed, stdout and stderr. */
    output: string;
    wallS: number;
    /** User + system CPU of the CLI and every process under it. */
    cpuS: number;
}

/** One `pulumi preview` of a project's stack, timed. */
export function timedPreview(projects: ConfigErrorProjects, project: string): Promise<PreviewRun> {
    const log = path.join(projects.dir, "preview.log");
    // bash's `times` prints the CPU time of the finished children (and theirs) on its second line.
    const script = 'pulumi preview --non-interactive --color never -s "$1" >"$2" 2>&1; status=$?; times; exit $status';
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn("bash", ["-c", script, "bash", STACK, log], { cwd: project, env: { ...process.env, ...projects.env } });
        let times = "";
        child.stdout.on("data", (d) => (times += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
        child.on("error", reject);
        child.on("close", (exitCode) => {
            clearTimeout(timer);
            const wallS = Number(process.hrtime.bigint() - started) / 1e9;
            const children = times
                .trim()
                .split("\n")[1]
                ?.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
            if (!children) return reject(new Error(`pulumi preview in ${project} was stopped after ${wallS.toFixed(0)} s`));
            const cpuS = 60 * Number(children[1]) + Number(children[2]) + 60 * Number(children[3]) + Number(children[4]);
            resolve({ exitCode, output: fs.readFileSync(log, "utf8"), wallS, cpuS });
        });
    });
}

interface Stats {
    median: number;
    min: number;
    max: number;
}
const round = (x: number) => Math.round(x * 1000) / 1000;
const stats = (values: number[]): Stats => ({
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
});
const cell = (s: Stats, unit = " s") => `${s.median.toFixed(2)}${unit} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

async function main(): Promise<void> {
    const runs = Number(process.env.BENCH_REPETITIONS ?? 5);
    if (!Number.isInteger(runs) || runs < 1 || runs > 50)
        throw new Error(`BENCH_REPETITIONS must be 1 to 50, got ${process.env.BENCH_REPETITIONS}`);
    const log = (message: string) => console.log(`[configerror ${new Date().toISOString().slice(11, 19)}] ${message}`);
    const began = Date.now();
    log("making the projects");
    const projects = configErrorProjects();
    const kinds = [
        { key: "empty", label: "empty program", dir: projects.empty, expect: new RegExp(EMPTY_MESSAGE) },
        { key: "configError", label: "config error", dir: projects.configError, expect: PLANNER_MESSAGE },
        { key: "programLoad", label: "program load", dir: projects.programLoad, expect: new RegExp(LOAD_MESSAGE) },
    ] as const;
    const results: Record<string, PreviewRun[]> = { empty: [], configError: [], programLoad: [] };
    try {
        // Round 0 warms the caches and is not counted; each round runs the three in turn, so that
        // a slow spell of the (shared) machine falls on all of them.
        for (let pass = 0; pass <= runs; pass++) {
            for (const kind of kinds) {
                const run = await timedPreview(projects, kind.dir);
                if (run.exitCode === 0 || !kind.expect.test(run.output))
                    throw new Error(`the ${kind.label} preview did not fail as expected (exit ${run.exitCode}):\n${run.output}`);
                if (pass > 0) results[kind.key].push(run);
                log(
                    `${pass === 0 ? "warm-up" : `run ${pass}/${runs}`}: ${kind.label} ${run.wallS.toFixed(2)} s (cpu ${run.cpuS.toFixed(2)} s)`,
                );
            }
        }
    } finally {
        projects.cleanup();
    }

    const summary = (key: string) => ({
        runs: results[key].map((r) => ({ wallS: round(r.wallS), cpuS: round(r.cpuS) })),
        wallS: stats(results[key].map((r) => r.wallS)),
        cpuS: stats(results[key].map((r) => r.cpuS)),
    });
    // Ratios run by run (the runs of one round were made one after the other), then their median.
    const ratio = (a: string, b: string) => ({
        wall: stats(results[a].map((r, i) => r.wallS / results[b][i].wallS)),
        cpu: stats(results[a].map((r, i) => r.cpuS / results[b][i].cpuS)),
    });
    const cpus = os.cpus();
    const report = {
        what: "how long pulumi preview takes to fail on a configuration error, next to a program that only fails",
        date: new Date().toISOString(),
        durationSeconds: Math.round((Date.now() - began) / 1000),
        machine: {
            cpus: cpus.length,
            model: cpus[0]?.model,
            memoryGiB: Math.round(os.totalmem() / 2 ** 30),
            node: process.version,
            pulumi: versions.pulumi,
        },
        repetitions: runs,
        how:
            "pulumi preview with the toolchain's CLI and language host, a local file backend, no cluster, PULUMI_NODEJS_TRANSPILE_ONLY " +
            "and PULUMI_SKIP_CHECKPOINTS as the project's previews run; a warm-up round, then rounds of the three in turn; " +
            "wall time per run; cpu = user + system of the CLI and every process under it (bash times)",
        programs: {
            empty: "a program whose index.ts throws a RunError at its top level",
            configError: `this program, with the shipped topology's links[0].ends[0].address set to ${BAD_ADDRESS} (outside its node's range)`,
            programLoad: "a program whose index.ts imports this one's program.ts, then throws a RunError at its top level",
        },
        empty: summary("empty"),
        configError: summary("configError"),
        programLoad: summary("programLoad"),
        ratios: {
            configErrorOverEmpty: ratio("configError", "empty"),
            configErrorOverProgramLoad: ratio("configError", "programLoad"),
        },
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");

    console.log(`\nmedian (min–max) over ${runs} runs each:\n`);
    printTable([
        ["program", "wall", "cpu"],
        ...kinds.map((k) => [k.label, cell(report[k.key].wallS), cell(report[k.key].cpuS)]),
        ["config error / empty", cell(report.ratios.configErrorOverEmpty.wall, ""), cell(report.ratios.configErrorOverEmpty.cpu, "")],
        [
            "config error / program load",
            cell(report.ratios.configErrorOverProgramLoad.wall, ""),
            cell(report.ratios.configErrorOverProgramLoad.cpu, ""),
        ],
    ]);
    console.log(`\nwritten to ${path.relative(process.cwd(), OUT)} in ${report.durationSeconds} s`);
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
