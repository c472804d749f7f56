// npm run allocate: records the tunnel subnet, UDP port and end addresses of every link in the
// allocations file (topology key `allocations`), so that later changes never renumber a link.
//   npm run allocate                                      the topology in Pulumi.yaml
//   npm run allocate -- examples/full-mesh/topology.yaml  a topology file of its own
//   npm run allocate -- --check                           change nothing; exit 1 when the file is not current
// Paths in the topology are relative to the directory npm runs in (the project's).
import * as fs from "fs";
import * as path from "path";
import { describeChanges, formatAllocations } from "../planner/allocations";
import { ConfigError } from "../planner/errors";
import { planAllocations } from "../planner/plan";
import { parseTopology } from "../planner/topology";
import { printTable } from "../lib/table";
import { readTopologyFile } from "../lib/topologyFile";

function main(): number {
    const args = process.argv.slice(2);
    const check = args.includes("--check");
    const file = args.find((arg) => !arg.startsWith("--")) ?? "Pulumi.yaml";
    const topology = parseTopology(readTopologyFile(file));
    const allocationsFile = path.resolve(topology.allocations);
    const before = fs.existsSync(allocationsFile) ? fs.readFileSync(allocationsFile, "utf8") : undefined;
    const addressing = planAllocations(topology, before);
    const after = formatAllocations(addressing.record);
    const changes = describeChanges(addressing.changes);

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
            record.ends.map((e) => `${e.site}/${e.node} ${e.address}`).join("  <->  "),
        ]);
    }
    printTable(rows);
    for (const name of addressing.changes.removed) console.log(`${name} (removed: its values are released)`);

    if (before === after) {
        console.log(`\n${topology.allocations} is current (${topology.links.length} link${topology.links.length === 1 ? "" : "s"}).`);
        return 0;
    }
    if (check) {
        console.error(
            `\n${topology.allocations} is not current: ${changes ?? "its layout differs"}. Run npm run allocate${file === "Pulumi.yaml" ? "" : ` -- ${file}`} and commit it.`,
        );
        return 1;
    }
    fs.mkdirSync(path.dirname(allocationsFile), { recursive: true });
    fs.writeFileSync(allocationsFile, after);
    console.log(`\nwrote ${topology.allocations}${changes ? `: ${changes}` : ""}. Commit it with the topology.`);
    return 0;
}

try {
    process.exitCode = main();
} catch (err) {
    console.error(err instanceof ConfigError ? err.message : `allocate failed: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
}
