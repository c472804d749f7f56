// Pulumi projects whose preview fails on a configuration error, and a timed `pulumi preview` of
// one: what `npm run bench:configerror` measures and test/system/failfast.test.ts checks. Each project
// runs the toolchain's CLI and language host with a local file backend, in a temporary directory
// under .cache.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { onInterrupt } from "../../lib/interrupts";
import { TimedRun, timedPulumi } from "./timedPulumi";
import { readProjectFile, SHIPPED_PROJECT, topologyIn } from "../../lib/topologyFile";

const ROOT = path.join(__dirname, "..", "..");
const TOOLCHAIN = process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain");
/** The stack of every project: a site's, so that the stack deploys that site by default. */
const STACK = "ohio";
/** One run's bound: far above what a failed preview takes, even on a busy machine. */
const RUN_TIMEOUT_MS = 180_000;

/** The address the bad topology gives the first link's first end: in the first part of Ohio's bridge range, which no slot of its pool is. */
export const BAD_ADDRESS = "10.10.0.200";
/** What the planner says about it. */
export const PLANNER_MESSAGE = /plumr:topology\.links\[0\]\.ends\[0\]\.address = "10\.10\.0\.200": not in a slot of site ohio's pool/;
export const EMPTY_MESSAGE = "the empty program fails at its top level";
export const LOAD_MESSAGE = "the program's modules are loaded";

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
    const project = readProjectFile(SHIPPED_PROJECT);
    const topology = topologyIn(project, SHIPPED_PROJECT);
    for (const site of Object.values<any>(topology.sites)) if (site.aws) site.aws = { region: site.aws.region, routing: "none" };
    topology.binaries.dir = path.join(ROOT, "dev", "stand-ins");
    topology.configTemplate = path.join(ROOT, topology.configTemplate);
    topology.allocations = path.join(ROOT, topology.allocations ?? "plumr/allocations.json");
    topology.links[0].ends[0].address = BAD_ADDRESS;
    project.main = path.relative(dir, ROOT);
    if (options.nodeargs) project.runtime.options.nodeargs = `${project.runtime.options.nodeargs ?? ""} ${options.nodeargs}`.trim();
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
            throw new Error(`${path.join(TOOLCHAIN, "bin", tool)} is missing: run bash dev/setup/toolchain.sh pulumi language_host`);
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

export type PreviewRun = TimedRun;

/** One `pulumi preview` of a project's stack, timed. */
export function timedPreview(projects: ConfigErrorProjects, project: string): Promise<PreviewRun> {
    return timedPulumi(project, projects.env, ["preview", "-s", STACK]);
}
