// npm run allocate: records the tunnel subnet, UDP port and end addresses of every link in the
// allocations file (topology key `allocations`), so that later changes never renumber a link.
//   npm run allocate                                      every environment's topology, or without environments Pulumi.yaml's
//   npm run allocate -- --environment staging             environment staging's alone (environments/staging/)
//   npm run allocate -- examples/full-mesh/topology.yaml  a topology file of its own
//   npm run allocate -- --check                           change nothing; exit 1 when a file is not current
//   npm run allocate -- --cwd examples/environments       the project in that directory
// Paths in the topology are relative to the project's directory: where npm runs, or --cwd.
import * as fs from "fs";
import * as path from "path";
import { describeChanges, formatAllocations } from "../planner/addressing/allocations";
import { ConfigError } from "../planner/problems/errors";
import { planAllocations } from "../planner/plan";
import { parseTopology } from "../planner/topology/schema";
import { printTable } from "../lib/table";
import { environmentTopology, projectEnvironments, readTopologyFile } from "../lib/topologyFile";

/** The project file: in the directory npm runs in, or the one --cwd names. */
const PROJECT = "Pulumi.yaml";

/** One topology to allocate: how to name it, its topology as written, and the command that rewrites its file. */
interface Target {
    label: string;
    written: unknown;
    command: string;
}

/** Allocates one topology's links; returns whether its file is (now) current, or, with `check`, was. */
function allocate(target: Target, check: boolean): boolean {
    const topology = parseTopology(target.written);
    const allocationsFile = path.resolve(topology.allocations);
    const before = fs.existsSync(allocationsFile) ? fs.readFileSync(allocationsFile, "utf8") : undefined;
    const addressing = planAllocations(topology, before);
    const after = formatAllocations(addressing.record);
    const changes = describeChanges(addressing.changes);

    console.log(`${target.label}:`);
    const rows = [["link", "tunnel subnet", "port", "ends"]];
    for (const link of topology.links) {
        const record = addressing.record.links[link.name];
        const mark = addressing.changes.added.includes(link.name)
            ? " (new)"
            : addressing.changes.changed.includes(link.name)
              ? " (changed)"
              : "";
        rows.push([
            link.name + mark,
            record.tunnelSubnet,
            String(record.port),
            record.ends.map((e) => `${e.site}/${e.node ?? "(its pool's node)"} ${e.address}`).join("  <->  "),
        ]);
    }
    printTable(rows);
    for (const name of addressing.changes.removed) console.log(`${name} (removed: its values are released)`);

    if (before === after) {
        console.log(`\n${topology.allocations} is current (${topology.links.length} link${topology.links.length === 1 ? "" : "s"}).\n`);
        return true;
    }
    if (check) {
        console.error(
            `\n${topology.allocations} is not current: ${changes ?? "its layout differs"}. Run ${target.command} and commit it.\n`,
        );
        return false;
    }
    fs.mkdirSync(path.dirname(allocationsFile), { recursive: true });
    fs.writeFileSync(allocationsFile, after);
    console.log(`\nwrote ${topology.allocations}${changes ? `: ${changes}` : ""}. Commit it with the topology.\n`);
    return true;
}

/** What the arguments ask for: a topology file of its own, one environment, every environment, or (without any) Pulumi.yaml's topology. */
function targets(args: string[]): Target[] {
    const at = args.indexOf("--environment");
    const env = at >= 0 ? args[at + 1] : undefined;
    if (at >= 0 && (!env || env.startsWith("--")))
        throw new Error(`--environment needs a name: one of ${projectEnvironments(PROJECT).join(", ") || "(none yet)"}`);
    const taken = new Set([at, args.indexOf("--cwd")].filter((i) => i >= 0).map((i) => i + 1));
    const file = args.find((arg, i) => !arg.startsWith("--") && !taken.has(i));
    const ofEnvironment = (name: string): Target => ({
        label: `environment ${name}`,
        written: environmentTopology(name, PROJECT),
        command: `npm run allocate -- --environment ${name}`,
    });
    if (env) return [ofEnvironment(env)];
    if (file) return [{ label: file, written: readTopologyFile(file), command: `npm run allocate -- ${file}` }];
    // With environments, Pulumi.yaml's topology is their shared part, never deployed alone.
    const environments = projectEnvironments(PROJECT);
    if (environments.length > 0) return environments.map(ofEnvironment);
    return [{ label: "Pulumi.yaml", written: readTopologyFile(PROJECT), command: "npm run allocate" }];
}

function main(): number {
    const args = process.argv.slice(2);
    // Paths in a topology are relative to the project's directory: work from there.
    if (args.includes("--cwd")) process.chdir(args[args.indexOf("--cwd") + 1] ?? "");
    const check = args.includes("--check");
    const results = targets(args).map((target) => allocate(target, check));
    return results.every(Boolean) ? 0 : 1;
}

try {
    process.exitCode = main();
} catch (err) {
    console.error(err instanceof ConfigError ? err.message : `allocate failed: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
}
