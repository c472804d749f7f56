// plumr allocate (npm run allocate): records the tunnel subnet, UDP port and end addresses of every
// link in the allocations file (topology key `allocations`), so that later changes never renumber a
// link. `plumr allocate --help` shows its usage. Paths in the topology are relative to the
// project's directory: where it runs, or --cwd.
import * as fs from "fs";
import * as path from "path";
import { describeChanges, formatAllocations } from "../planner/addressing/allocations";
import { planAllocations } from "../planner/plan";
import { parseTopology } from "../planner/topology/schema";
import { Command, Parsed, stringOf, UsageError, runCommand } from "../lib/commandLine";
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

const USAGE = `usage: plumr allocate [<topology file>] [--environment <environment>] [--check] [--cwd <project directory>]
       npm run allocate -- [the same]

Records the tunnel subnet, UDP port and end addresses of every link in the allocations file, so that
later changes never renumber a link.

  (no argument)                  every environment's topology, or without environments Pulumi.yaml's
  <topology file>                a topology file of its own (examples/full-mesh/topology.yaml)
  --environment <environment>    that environment's alone (environments/<environment>/)
  --check                        change nothing; exit 1 when a file is not current
  --cwd <project directory>      the project in that directory (default: the current one)
  --help, -h                     this text`;

/** What the command line asks for: a topology file of its own, one environment, every environment, or (without any) Pulumi.yaml's topology. */
function targets(env: string | undefined, file: string | undefined): Target[] {
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

function allocateAll(parsed: Parsed): number {
    const env = stringOf(parsed, "environment");
    const cwd = stringOf(parsed, "cwd");
    const [file] = parsed.positionals;
    if (env === "") throw new UsageError("--environment needs the name of an environment");
    if (env !== undefined && file !== undefined) throw new UsageError(`give a topology file (${file}) or --environment ${env}, not both`);
    // Paths in a topology are relative to the project's directory: work from there.
    if (cwd !== undefined) process.chdir(cwd);
    const check = parsed.values.check === true;
    const results = targets(env, file).map((target) => allocate(target, check));
    return results.every(Boolean) ? 0 : 1;
}

export const command: Command = {
    line: {
        name: "allocate",
        usage: USAGE,
        options: { environment: { type: "string" }, check: { type: "boolean" }, cwd: { type: "string" } },
        positionals: 1,
    },
    run: allocateAll,
    stopped: "each allocations file it wrote is whole, and a second run writes what is left: run it again",
};

if (require.main === module) void runCommand(command, process.argv.slice(2));
