// The slots of the local clusters' pools: recorded in the local deployment's allocations file as a
// team commits them, and followed by the underlay. In AWS the program routes each slot's range to
// its node's network interface; here (routing none) the underlay's routers stand in for the VPC, so
// after every `pulumi up` they route each slot's range to the node that holds it, as the stack
// publishes it. Shared by npm run demo, the end-to-end tests and the benchmarks.
import type { Stack, UpOptions, UpResult } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { formatAllocations } from "../../planner/addressing/allocations";
import { ClusterNode, parseNode } from "../../planner/cluster/facts";
import { planAllocations } from "../../planner/plan";
import { poolsOf } from "../../planner/pools/slots";
import { ConfigError } from "../../planner/problems/errors";
import { publishedSiteSchema } from "../../planner/published";
import { parseTopology } from "../../planner/topology/schema";
import { environmentTopology, readTopologyFile } from "../../lib/topologyFile";
import { Instance, KubeApi, localClusterSpecs } from "./localClusters";
import { routeSlots } from "./localUnderlay";

/**
 * Records in the allocations file of the local project in `projectDir` (of environment `env`, if
 * given) which node holds each slot of its pools now: the nodes each pool's selector picks in its
 * local cluster, given slots as the program gives them (a node keeps its slot; a node that
 * replaces one that is gone takes the freed slot of an endpoint). What a team commits after
 * reading its clusters, so that a stack's `pulumi up` finds its slots recorded. A topology the
 * planner refuses is left to `pulumi up`, which says why in its own words.
 */
export async function recordSlots(instance: Instance, projectDir: string, env?: string): Promise<void> {
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    try {
        const topology = parseTopology(env ? environmentTopology(env, projectFile) : readTopologyFile(projectFile));
        const file = path.resolve(projectDir, topology.allocations);
        const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
        const clusters: Record<string, ClusterNode[]> = {};
        for (const c of localClusterSpecs(instance)) {
            if (topology.sites[c.name]?.pool)
                clusters[c.name] = ((await new KubeApi(c).get("/api/v1/nodes")).items as unknown[]).map(parseNode);
        }
        const after = formatAllocations(planAllocations(topology, before, poolsOf(topology, clusters)).record);
        if (after !== before) fs.writeFileSync(file, after);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
    }
}

/** What the underlay needs of a site a stack publishes: its bridge range, and each node of its pool with its slot's range. */
const routedSite = publishedSiteSchema.pick({ bridgeRange: true, nodes: true });

/**
 * Routes what a stack published (its `sites` output) in `instance`'s underlay: each site's bridge
 * range to its router, and each slot's range to the real node that holds it now. A simulated node
 * has no network to route to, and a site without a local cluster no router: both are left out.
 */
export function followSlots(instance: Instance, sites: Record<string, unknown>): void {
    const clusters = localClusterSpecs(instance);
    const names = clusters.map((c) => c.name);
    for (const [site, published] of Object.entries(sites)) {
        const cluster = clusters.find((c) => c.name === site);
        if (!cluster) continue;
        const { bridgeRange, nodes } = routedSite.parse(published);
        const slots = nodes.flatMap((node) => {
            const real = cluster.realNodes.find((r) => r.name === node.name);
            return real ? [{ range: node.range, nodeIndex: real.index }] : [];
        });
        routeSlots(instance, names, site, bridgeRange, slots);
    }
}

/**
 * `pulumi up` of a local stack, as a team runs it with its clusters: the pools' slots recorded
 * first (recordSlots), and the underlay routed to what the stack published afterwards (followSlots).
 */
export async function upLocal(stack: Stack, instance: Instance, options: UpOptions = {}): Promise<UpResult> {
    await recordSlots(instance, stack.workspace.workDir, (await stack.getAllConfig())["plumr:environment"]?.value);
    const result = await stack.up(options);
    followSlots(instance, result.outputs.sites?.value ?? {});
    return result;
}
