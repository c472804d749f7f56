// plumr preflight (npm run preflight): the checks `pulumi preview` and `pulumi up` make before any
// change, alone: the stack's whole configuration, then each of its sites' clusters
// (planner/cluster/preflight.ts), read with the kubectl on PATH through the stack's own access.
// `plumr preflight --help` shows its usage.
import { ConfigError, formatProblems } from "../planner/problems/errors";
import { readClusters } from "../program/clusterReader";
import type { PreflightCheck } from "../planner/cluster/preflight";
import { checkClusters } from "../program/preflight";
import type { Prepared } from "../program/prepare";
import { prepareStack } from "../lib/stackPrepare";
import { Command, Parsed, runCommand } from "../lib/commandLine";
import { STACK_ARGS, STACK_OPTIONS, stackArgs } from "../lib/stackArgs";
import { printTable } from "../lib/table";

const USAGE = `usage: plumr preflight ${STACK_ARGS} [--json] [--cwd <project directory>]
       npm run preflight -- [the same]

Checks a stack's configuration, then reads each of its sites' clusters (with the kubectl on PATH,
through the stack's own access) and checks them, changing nothing. Prints a table of every check
and the fix of each failing one.

  <stack>                        the stack to check
  --environment <environment>    every stack of that environment instead
  --json                         the checks as JSON on stdout, nothing else there
  --cwd <project directory>      the project in that directory (default: the current one)
  --help, -h                     this text`;

/** The configuration check and each site's checks of one stack. */
async function checkStack(stackName: string, workDir: string): Promise<PreflightCheck[]> {
    let prepared: Prepared;
    try {
        prepared = (await prepareStack(stackName, workDir)).prepared;
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return [{ site: "", check: "configuration", ok: false, found: "", problems: err.problems }];
    }
    return [
        { site: "", check: "configuration", ok: true, found: `sites ${prepared.managed.join(", ")}`, problems: [] },
        ...checkClusters(prepared, await readClusters(prepared)).checks,
    ];
}

async function preflight(parsed: Parsed): Promise<number> {
    const args = stackArgs(parsed);
    const checks: (PreflightCheck & { stack: string })[] = [];
    for (const stack of args.stacks) checks.push(...(await checkStack(stack, args.workDir)).map((c) => ({ stack, ...c })));
    const failing = checks.filter((c) => !c.ok);
    if (args.json) {
        console.log(JSON.stringify(checks, null, 2));
    } else {
        printTable([
            ["stack", "site", "check", "found", "result"],
            ...checks.map((c) => [c.stack, c.site || "-", c.check, c.found, c.ok ? "ok" : "FAIL"]),
        ]);
        const problems = failing.flatMap((c) => c.problems);
        console.log(problems.length === 0 ? `\nall ${checks.length} checks pass` : `\n${formatProblems(problems)}`);
    }
    return failing.length === 0 ? 0 : 1;
}

export const command: Command = {
    line: { name: "preflight", usage: USAGE, options: STACK_OPTIONS, positionals: 1 },
    run: preflight,
    stopped: "it changed nothing: run it again",
};

if (require.main === module) void runCommand(command, process.argv.slice(2));
