// The arguments `npm run preflight` and `npm run verify` share: the stacks to check (one stack, or
// every stack of an environment), --json, and the project's directory.
import * as path from "path";
import { environmentStacks } from "./topologyFile";

export interface StackArgs {
    /** The stacks to check, in order. */
    stacks: string[];
    json: boolean;
    /** The project's directory (with Pulumi.yaml). */
    workDir: string;
}

/**
 * Reads `<stack> | --environment <env>`, `--json` and `--cwd <dir>`; undefined when they do not
 * say which stacks (the caller prints its usage). `--environment` stands for the stacks
 * `<env>-<site>` of every site of the environment's topology.
 */
export function parseStackArgs(args: string[]): StackArgs | undefined {
    const valueOf = (flag: string) => {
        const at = args.indexOf(flag);
        return at < 0 ? undefined : (args[at + 1] ?? "");
    };
    const taken = new Set(
        ["--cwd", "--environment"]
            .map((flag) => args.indexOf(flag))
            .filter((at) => at >= 0)
            .map((at) => at + 1),
    );
    const workDir = path.resolve(valueOf("--cwd") ?? process.cwd());
    const env = valueOf("--environment");
    const stack = args.find((a, i) => !a.startsWith("--") && !taken.has(i));
    if ([valueOf("--cwd"), env].some((v) => v !== undefined && (v === "" || v.startsWith("--")))) return undefined;
    if ((env === undefined) === (stack === undefined)) return undefined;
    const stacks = env !== undefined ? environmentStacks(env, path.join(workDir, "Pulumi.yaml")) : [stack!];
    return { stacks, json: args.includes("--json"), workDir };
}
