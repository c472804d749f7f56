// npm run preflight -- <stack> [--json] [--cwd <project directory>]
//
// The checks `pulumi preview` and `pulumi up` make before any change, alone: the stack's whole
// configuration, then each of its sites' clusters (planner/preflight.ts), read with the kubectl on
// PATH through the stack's own access. Prints a table of every check (or JSON with --json) and the
// fix of each failing one; exits 1 when any fails.
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as path from "path";
import { ConfigError, formatProblems, Problem, SECRET } from "../planner/errors";
import { readCluster } from "../cluster";
import { checkCluster, parseClusterFacts, PreflightCheck } from "../planner/preflight";
import { prepare, Prepared } from "../prepare";
import { printTable } from "../lib/table";

/** Reads one site's cluster as the program does, and checks it. */
async function checkSite(prepared: Prepared, site: string): Promise<PreflightCheck[]> {
    try {
        const text = await readCluster(prepared.access[site].raw, prepared.plan.sites[site].config.platform === "openshift");
        return checkCluster(prepared.plan, site, parseClusterFacts(text));
    } catch (err) {
        const said = err instanceof Error ? err.message : String(err);
        const problem: Problem = {
            field: `plumr:access.${site}.kubeconfig`,
            value: SECRET,
            message: `could not read site ${site}'s cluster: ${said}`,
            fix: "install kubectl, and check that this kubeconfig reaches the cluster (kubectl get nodes)",
        };
        return [{ site, check: "cluster reachable", ok: false, found: said.split("\n")[0], problems: [problem] }];
    }
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const json = args.includes("--json");
    const cwdAt = args.indexOf("--cwd");
    const workDir = path.resolve(cwdAt >= 0 ? (args[cwdAt + 1] ?? "") : process.cwd());
    const stackName = args.find((a, i) => !a.startsWith("--") && (cwdAt < 0 || i !== cwdAt + 1));
    if (!stackName) {
        console.error("usage: npm run preflight -- <stack> [--json] [--cwd <project directory>]");
        process.exit(2);
    }
    const stack = await LocalWorkspace.selectStack({ stackName, workDir });
    const config = await stack.getAllConfig();
    const values = Object.fromEntries(Object.entries(config).map(([key, v]) => [key, v.value]));
    const secretKeys = new Set(Object.entries(config).flatMap(([key, v]) => (v.secret ? [key] : [])));
    let prepared: Prepared;
    try {
        prepared = prepare(workDir, { values, secretKeys, stack: stackName.split("/").pop()! });
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (json)
            console.log(JSON.stringify([{ site: "", check: "configuration", ok: false, found: "", problems: err.problems }], null, 2));
        else console.error(err.message);
        process.exitCode = 1;
        return;
    }
    const checks = [
        { site: "", check: "configuration", ok: true, found: `sites ${prepared.managed.join(", ")}`, problems: [] },
        ...(await Promise.all(prepared.managed.map((site) => checkSite(prepared, site)))).flat(),
    ];
    const failing = checks.filter((c) => !c.ok);
    if (json) {
        console.log(JSON.stringify(checks, null, 2));
    } else {
        printTable([["site", "check", "found", "result"], ...checks.map((c) => [c.site || "-", c.check, c.found, c.ok ? "ok" : "FAIL"])]);
        const problems = failing.flatMap((c) => c.problems);
        console.log(problems.length === 0 ? `\nall ${checks.length} checks pass` : `\n${formatProblems(problems)}`);
    }
    process.exitCode = failing.length === 0 ? 0 : 1;
}

main().catch((err) => {
    console.error(`preflight: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
});
