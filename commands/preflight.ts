// npm run preflight -- <stack> [--json] [--cwd <project directory>]
// npm run preflight -- --environment <env> [--json] [--cwd <project directory>]   every stack of the environment
//
// The checks `pulumi preview` and `pulumi up` make before any change, alone: the stack's whole
// configuration, then each of its sites' clusters (planner/cluster/preflight.ts), read with the kubectl on
// PATH through the stack's own access. Prints a table of every check (or JSON with --json) and the
// fix of each failing one; exits 1 when any fails.
import { ConfigError, formatProblems } from "../planner/problems/errors";
import { readClusters } from "../program/clusterReader";
import type { PreflightCheck } from "../planner/cluster/preflight";
import { checkClusters } from "../program/preflight";
import type { Prepared } from "../program/prepare";
import { prepareStack } from "../lib/stackPrepare";
import { parseStackArgs } from "../lib/stackArgs";
import { printTable } from "../lib/table";

const USAGE = "usage: npm run preflight -- <stack> | --environment <environment> [--json] [--cwd <project directory>]";

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

async function main(): Promise<void> {
    const args = parseStackArgs(process.argv.slice(2));
    if (!args) {
        console.error(USAGE);
        process.exit(2);
    }
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
    process.exitCode = failing.length === 0 ? 0 : 1;
}

main().catch((err) => {
    console.error(`preflight: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
});
