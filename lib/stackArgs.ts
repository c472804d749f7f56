// The arguments preflight, verify and discover share: the stacks to check (one stack, or every
// stack of an environment), --json, and the project's directory.
import * as path from "path";
import { Options, Parsed, stringOf, UsageError } from "./commandLine";
import { environmentStacks } from "./topologyFile";

export interface StackArgs {
    /** The stacks to check, in order. */
    stacks: string[];
    json: boolean;
    /** The project's directory (with Pulumi.yaml). */
    workDir: string;
}

/** The options of `<stack> | --environment <env> [--json] [--cwd <dir>]`, as parseArgs takes them; one positional, the stack. */
export const STACK_OPTIONS = {
    environment: { type: "string" },
    json: { type: "boolean" },
    cwd: { type: "string" },
} satisfies Options;

/** How the usages write those arguments. */
export const STACK_ARGS = "<stack> | --environment <environment>";

/**
 * The stacks a command line names: its `<stack>`, or with `--environment <env>` the stacks
 * `<env>-<site>` of every site of the environment's topology, in the project of `--cwd` (default:
 * the current directory). Throws UsageError when it names neither or both.
 */
export function stackArgs(parsed: Parsed): StackArgs {
    const workDir = path.resolve(stringOf(parsed, "cwd") ?? process.cwd());
    const env = stringOf(parsed, "environment");
    const [stack] = parsed.positionals;
    if (env === "") throw new UsageError("--environment needs the name of an environment");
    if (stringOf(parsed, "cwd") === "") throw new UsageError("--cwd needs a directory");
    if (env !== undefined && stack !== undefined) throw new UsageError(`give a stack (${stack}) or --environment ${env}, not both`);
    if (env === undefined && stack === undefined) throw new UsageError("which stack? give a stack, or --environment <environment>");
    const stacks = env !== undefined ? environmentStacks(env, path.join(workDir, "Pulumi.yaml")) : [stack!];
    return { stacks, json: parsed.values.json === true, workDir };
}
