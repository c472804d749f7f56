import * as a from "./addresses";
import { Problems, Unique } from "../problems/errors";
import { fieldPath, PlacedTopology } from "../topology/schema";

/** The parsed bridge ranges: per site, and per site and node (absent where malformed). */
export type ParsedRanges = { site: Record<string, a.Cidr>; node: Record<string, Record<string, a.Cidr>> };

/** Validates ranges: well-formed, nodes inside their site, nothing overlapping. */
export function checkRanges(topology: PlacedTopology, problems: Problems, pool: a.Cidr | undefined): ParsedRanges {
    const parsed: ParsedRanges = { site: {}, node: {} };
    const siteNames = Object.keys(topology.sites);
    for (const siteName of siteNames) {
        const site = topology.sites[siteName];
        const siteField = fieldPath(["sites", siteName, "bridgeRange"]);
        const range = a.parseCidr(site.bridgeRange);
        if ("error" in range) problems.add(siteField, site.bridgeRange, range.error, range.fix);
        else parsed.site[siteName] = range.cidr;
        parsed.node[siteName] = {};
        const names = new Unique(problems, "node name", "list each node once");
        site.nodes.forEach((node, i) => {
            const field = fieldPath(["sites", siteName, "nodes", i]);
            if (!names.check(node.name, `${field}.name`)) return;
            const nodeRange = a.parseCidr(node.range);
            if ("error" in nodeRange) {
                problems.add(`${field}.range`, node.range, nodeRange.error, nodeRange.fix);
                return;
            }
            const siteRange = parsed.site[siteName];
            if (siteRange && !a.containsCidr(siteRange, nodeRange.cidr)) {
                problems.add(
                    `${field}.range`,
                    node.range,
                    `not inside the site's bridge range ${site.bridgeRange}`,
                    `give the node a part of ${site.bridgeRange}, or widen sites.${siteName}.bridgeRange`,
                );
            } else if (nodeRange.cidr.size < 4) {
                problems.add(
                    `${field}.range`,
                    node.range,
                    "too small to hold a gateway and an endpoint",
                    "use a /30 or larger, e.g. a /24",
                );
            }
            for (const [other, otherRange] of Object.entries(parsed.node[siteName])) {
                if (a.overlaps(otherRange, nodeRange.cidr)) {
                    problems.add(
                        `${field}.range`,
                        node.range,
                        `overlaps the range ${a.formatCidr(otherRange)} of node ${other}`,
                        "give every node its own part of the bridge range",
                    );
                }
            }
            parsed.node[siteName][node.name] = nodeRange.cidr;
        });
    }
    siteNames.forEach((siteName, i) => {
        for (const other of siteNames.slice(0, i)) {
            const mine = parsed.site[siteName];
            const theirs = parsed.site[other];
            if (mine && theirs && a.overlaps(mine, theirs)) {
                problems.add(
                    fieldPath(["sites", siteName, "bridgeRange"]),
                    topology.sites[siteName].bridgeRange,
                    `overlaps site ${other}'s bridge range ${topology.sites[other].bridgeRange}`,
                    "give every site a bridge range of its own: routes between sites are by range",
                );
            }
        }
        const mine = parsed.site[siteName];
        if (pool && mine && a.overlaps(pool, mine)) {
            problems.add(
                fieldPath(["tunnel", "pool"]),
                topology.tunnel.pool,
                `overlaps site ${siteName}'s bridge range ${topology.sites[siteName].bridgeRange}`,
                "take the tunnel pool from addresses no site uses, e.g. 10.4.0.0/24",
            );
        }
    });
    return parsed;
}
