// Whether the nodes the topology routes to are still the cluster's: node pools replace instances
// on upgrades, and a route to a replaced instance's network interface leads nowhere.
import { ClusterNode, parseProviderId } from "../cluster/facts";
import { Problems } from "../problems/errors";
import { fieldPath } from "../topology/schema";
import type { AwsSiteIntent } from "../types";

/**
 * Compares the site's routed nodes (every node with an instance id) with the nodes its cluster
 * reports: the node must exist, its `spec.providerID` must end with the instance id, and its zone
 * must be the one the topology gives. Adds one problem per mismatch, naming what the cluster says.
 */
export function checkClusterNodes(site: AwsSiteIntent, cluster: ClusterNode[], problems: Problems): void {
    const byName = new Map(cluster.map((n) => [n.name, n]));
    const runs = (node: ClusterNode, instanceId: string) => node.providerId.endsWith(`/${instanceId}`);
    for (const node of site.routedNodes.filter((n) => n.slot === undefined)) {
        const field = (key: string) => fieldPath(["sites", site.site, "nodes", node.index, key]);
        const update =
            `replace sites.${site.site}.nodes[${node.index}] with the cluster's node (kubectl get nodes -o wide): its name, instanceId ` +
            `(the end of its spec.providerID), availabilityZone, and range if its bridge serves another; rename it in the links' ends ` +
            `that name it, then run npm run allocate and commit both`;
        const found = byName.get(node.node);
        if (!found) {
            const successor = cluster.find((n) => runs(n, node.instanceId));
            problems.add(
                field("name"),
                node.node,
                `site ${site.site}'s cluster has no node of this name` +
                    (successor
                        ? `; instance ${node.instanceId} is its node ${successor.name} now`
                        : `, and none of its nodes is instance ${node.instanceId}: the node was replaced`),
                update,
            );
            continue;
        }
        const said = parseProviderId(found.providerId);
        if (!runs(found, node.instanceId)) {
            const what = found.providerId
                ? `is instance ${said.instanceId ?? "(unknown)"} (spec.providerID ${found.providerId}): the instance was replaced, ` +
                  `and the route to ${node.instanceId}'s network interface leads nowhere`
                : "has no spec.providerID, so it does not say which EC2 instance it is";
            problems.add(
                field("instanceId"),
                node.instanceId,
                `site ${site.site}'s cluster says node ${node.node} ${what}`,
                said.instanceId
                    ? `set sites.${site.site}.nodes[${node.index}].instanceId to ${said.instanceId}` +
                          (said.zone ? ` and availabilityZone to ${said.zone}` : "")
                    : `check that site ${site.site}'s cluster runs on EC2 with the AWS cloud provider, or set its aws.routing to none`,
            );
            continue;
        }
        if (node.availabilityZone !== undefined && said.zone !== undefined && said.zone !== node.availabilityZone) {
            problems.add(
                field("availabilityZone"),
                node.availabilityZone,
                `site ${site.site}'s cluster says node ${node.node} is in ${said.zone} (spec.providerID ${found.providerId})`,
                `set sites.${site.site}.nodes[${node.index}].availabilityZone to ${said.zone}, and add an attachment subnet in that zone if it has none`,
            );
        }
    }
}
