// plumr stacks (npm run stacks): the stacks the workflow previews and deploys, read from the
// repository's environments (environments/<env>/topology.yaml, in the order of
// environments/promotion.yaml), or for a project without environments, one stack per site of
// Pulumi.yaml's topology. `plumr stacks --help` shows its usage.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Problems } from "../planner/problems/errors";
import {
    affectedStacks,
    DEFAULT_GITHUB_ENVIRONMENT,
    EnvironmentStacks,
    MAX_STAGES,
    PROMOTION_FILE,
    promotionOrder,
    stacksOf,
    stages,
} from "../planner/environments/rollout";
import { parseTopology } from "../planner/topology/schema";
import { Command, Parsed, runCommand, stringOf } from "../lib/commandLine";
import { environmentTopology, projectEnvironments, readTopologyFile } from "../lib/topologyFile";

const USAGE = `usage: plumr stacks [--changed-since <git ref>] [--github-output <file>] [--cwd <project directory>]
       npm run stacks -- [the same]

Prints, as JSON, the stacks the workflow previews (each with its environment) and the stages of a
deployment on main.

  --changed-since <git ref>    preview only the stacks a change since <git ref> can affect (git diff <ref>...HEAD)
  --github-output <file>       also append them to <file> as a step's outputs: preview (each stack with its
                               environment), stage1…stage3
  --cwd <project directory>    another project than the one in the current directory
  --help, -h                   this text`;

/** What the workflow reads: the stacks to preview, the GitHub environment of each, and the stages of a deployment on main. */
export interface WorkflowStacks {
    preview: string[];
    /** Each stack's environment: a preview runs in it, with its credentials and behind its protection rules. */
    environments: Record<string, string>;
    stages: ReturnType<typeof stages>;
}

/** The environments of the project in `dir`, in promotion order, each with its parsed topology. */
export function projectStacks(dir: string): EnvironmentStacks[] {
    const project = path.join(dir, "Pulumi.yaml");
    const names = projectEnvironments(project);
    if (names.length === 0) return [{ topology: parseTopology(readTopologyFile(project)) }];
    const problems = new Problems();
    const promotion = path.join(dir, PROMOTION_FILE);
    const listed = fs.existsSync(promotion) ? YAML.parse(fs.readFileSync(promotion, "utf8")) : undefined;
    const order = promotionOrder(listed, names, problems);
    problems.throwIfAny();
    return order.map((name) => ({ name, topology: parseTopology(environmentTopology(name, project)) }));
}

/** The workflow's stacks for the project in `dir`; with `changed`, previews only the stacks those files can affect. */
export function workflowStacks(dir: string, changed?: string[]): WorkflowStacks {
    const environments = projectStacks(dir);
    const environmentOf = Object.fromEntries(
        environments.flatMap((env) => stacksOf(env).map((stack) => [stack, env.name ?? DEFAULT_GITHUB_ENVIRONMENT])),
    );
    return {
        preview: changed ? affectedStacks(changed, environments) : environments.flatMap(stacksOf),
        environments: environmentOf,
        stages: stages(environments),
    };
}

/** The files a change since `ref` touches, relative to the repository (git diff ref...HEAD). */
function changedSince(ref: string, dir: string): string[] {
    const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: dir, encoding: "utf8" }).trim();
    const files = execFileSync("git", ["diff", "--name-only", `${ref}...HEAD`], { cwd: dir, encoding: "utf8" });
    const prefix = path.relative(root, dir);
    return files
        .split("\n")
        .filter(Boolean)
        .map((file) => (prefix ? path.relative(prefix, file) : file));
}

function printStacks(parsed: Parsed): number {
    const ref = stringOf(parsed, "changed-since");
    const output = stringOf(parsed, "github-output");
    const dir = path.resolve(stringOf(parsed, "cwd") ?? process.cwd());
    const stacks = workflowStacks(dir, ref ? changedSince(ref, dir) : undefined);
    console.log(JSON.stringify(stacks, null, 2));
    if (output) {
        // The preview job's matrix: each stack with the GitHub environment it runs in.
        const preview = stacks.preview.map((stack) => ({ stack, environment: stacks.environments[stack] }));
        const lines = [`preview=${JSON.stringify(preview)}`];
        for (let i = 0; i < MAX_STAGES; i++) {
            const stage = stacks.stages[i];
            lines.push(`stage${i + 1}=${stage ? JSON.stringify({ environment: stage.environment, order: stage.order.join(" ") }) : ""}`);
        }
        fs.appendFileSync(output, lines.join("\n") + "\n");
    }
    return 0;
}

export const command: Command = {
    line: {
        name: "stacks",
        usage: USAGE,
        options: { "changed-since": { type: "string" }, "github-output": { type: "string" }, cwd: { type: "string" } },
    },
    run: printStacks,
    stopped: "it changed nothing: run it again",
};

if (require.main === module) void runCommand(command, process.argv.slice(2));
