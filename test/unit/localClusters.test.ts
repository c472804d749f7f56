// The local clusters' nodes (dev/local/clusterSpecs.ts): an EC2 cluster's, whose pool the shipped
// topology's selector picks. Pure: the inventory and the specs, no cluster started.
import * as assert from "assert";
import { INVENTORY, POOL_LABEL, providerId, ZONE_LABEL } from "../../dev/local/clusterSpecs";
import { shippedTopology } from "../../lib/topologyFile";
import type { ClusterNode } from "../../planner/cluster/facts";
import { poolsOf } from "../../planner/pools/slots";
import { parseTopology } from "../../planner/topology/schema";

/** A site's nodes as its local cluster reports them: provider id and zone, and the pool's label on the pool's nodes. */
const reported = (site: string): ClusterNode[] =>
    INVENTORY[site].map((n) => ({
        name: n.name,
        providerId: providerId(n),
        labels: { [ZONE_LABEL]: n.zone, ...(n.pool && { [POOL_LABEL]: "" }) },
        ready: true,
    }));

describe("the local clusters' nodes", () => {
    const topology = parseTopology(shippedTopology());

    it("are an EC2 cluster's: a provider id of an instance in the node's zone, in the site's region", () => {
        assert.deepStrictEqual(Object.keys(INVENTORY).sort(), Object.keys(topology.sites).sort(), "a cluster per site of Pulumi.yaml");
        for (const [site, nodes] of Object.entries(INVENTORY)) {
            for (const node of nodes) {
                assert.match(node.name, /^ip-\d+-\d+-\d+-\d+\.[a-z0-9-]+\.compute\.internal$/, node.name);
                assert.match(providerId(node), /^aws:\/\/\/[a-z0-9-]+[a-z]\/i-[0-9a-f]{17}$/, node.name);
                assert.ok(node.zone.startsWith(topology.sites[site].aws!.region), `${node.name} is in ${site}'s region`);
            }
        }
    });

    it("make Pulumi.yaml's pools exactly the nodes the local clusters run for real, and leave a node of each site out", () => {
        const pools = poolsOf(topology, Object.fromEntries(Object.keys(INVENTORY).map((site) => [site, reported(site)])));
        for (const [site, nodes] of Object.entries(INVENTORY)) {
            const real = nodes.filter((n) => n.pool).map((n) => n.name);
            assert.deepStrictEqual(
                pools[site].map((n) => n.name).sort(),
                real.sort(),
                `${site}: every node the program may place an endpoint on`,
            );
            assert.ok(real.length >= 2, `${site}: a node to move to`);
            assert.ok(nodes.length > real.length, `${site}: a node the selector leaves out`);
            assert.ok(
                pools[site].every((n) => n.instanceId && n.zone),
                "each pool node's instance and zone read as the program reads them",
            );
        }
    });
});
