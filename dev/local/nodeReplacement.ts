// Replacing a node of a local cluster as an EC2 node group does when an instance is gone: the node
// stops for good (its kubelet, containerd, pods and namespaces; its Node object deleted, as the
// cloud's node lifecycle controller deletes the node of a terminated instance), and a new instance
// joins in the same zone with a new name and a new provider id, and is labelled into the pool. A
// node also reboots: it stops and starts again as itself.
// Each instance records its nodes once they differ from the inventory (dev/local/clusterSpecs.ts),
// so that stopping and starting the instance keeps them; restoreNodes gives it the inventory again.
//
//   ts-node dev/local/nodeReplacement.ts replace <instance> <site> <node>
//   ts-node dev/local/nodeReplacement.ts reboot <instance> <site> <node>
//   ts-node dev/local/nodeReplacement.ts restore <instance>
import { randomBytes, randomInt } from "crypto";
import {
    checkInstance,
    ClusterSpec,
    Instance,
    instanceNodes,
    INVENTORY,
    KubeApi,
    LocalNode,
    localClusterSpecs,
    localClustersRunning,
    log,
    startPoolNode,
    writeInstanceNodes,
} from "./localClusters";
import { nodeRunning, removeNode } from "./localNodes";

function clusterOf(instance: Instance, site: string): ClusterSpec {
    const cluster = localClusterSpecs(instance).find((c) => c.name === site);
    if (!cluster) throw new Error(`no local cluster for site ${site} in instance ${instance}`);
    return cluster;
}

/**
 * Stops real node `name` of `site` as a machine that is gone: its kubelet, containerd and pods are
 * killed and its namespaces removed (localNodes.ts removeNode), and its Node object is deleted, as
 * the cloud's node lifecycle controller deletes the node of a terminated instance. Its pods' objects
 * stay until the cluster's pod garbage collector removes them, as in any cluster.
 */
export async function stopNode(instance: Instance, site: string, name: string): Promise<void> {
    const cluster = clusterOf(instance, site);
    const node = cluster.realNodes.find((n) => n.name === name);
    if (!node) throw new Error(`${name} is not a running real node of ${site} (${cluster.realNodes.map((n) => n.name).join(", ")})`);
    removeNode(node);
    const nodes = instanceNodes(instance);
    nodes[site].find((n) => n.name === name)!.gone = true;
    writeInstanceNodes(instance, nodes);
    const deleted = await new KubeApi(cluster).request("DELETE", `/api/v1/nodes/${name}`);
    if (deleted.status !== 200 && deleted.status !== 404)
        throw new Error(`DELETE node ${name} on ${site}: HTTP ${deleted.status} ${JSON.stringify(deleted.body)}`);
    log(`${site}: node ${name} stopped and deleted`);
}

/**
 * Reboots real node `name` of `site`: everything on it stops (its kubelet, containerd, its pods'
 * containers and namespaces, as at a power cycle) and it starts again under the same name and
 * instance, its Node object kept. Resolves when it is Ready again, in the pool.
 */
export async function rebootNode(instance: Instance, site: string, name: string): Promise<void> {
    const cluster = clusterOf(instance, site);
    const node = cluster.realNodes.find((n) => n.name === name);
    if (!node) throw new Error(`${name} is not a running real node of ${site} (${cluster.realNodes.map((n) => n.name).join(", ")})`);
    removeNode(node);
    log(`${site}: node ${name} stopped for a reboot`);
    await startPoolNode(cluster, node);
    log(`${site}: node ${name} Ready again`);
}

/** A new EC2 node of the site whose nodes are `siblings`: a free name in the site's VPC (ip-<address>.<region>.compute.internal) and a new instance. */
function newNode(siblings: LocalNode[], zone: string): LocalNode {
    const [, vpc, domain] = /^ip-(\d+-\d+)-\d+-\d+(\..+)$/.exec(siblings[0].name) ?? [];
    if (!vpc)
        throw new Error(`the site's nodes are not named as EC2 names them (ip-<address>.<region>.compute.internal): ${siblings[0].name}`);
    let name: string;
    do name = `ip-${vpc}-${randomInt(1, 255)}-${randomInt(1, 255)}${domain}`;
    while (siblings.some((n) => n.name === name));
    return { name, zone, instanceId: `i-0${randomBytes(8).toString("hex")}`, pool: true };
}

/** Starts a new real node in `zone` of `site` (a new name and instance), and waits until it is Ready and in the pool. */
export async function startNewNode(instance: Instance, site: string, zone: string): Promise<LocalNode> {
    const nodes = instanceNodes(instance);
    const node = newNode(nodes[site], zone);
    nodes[site].push(node);
    writeInstanceNodes(instance, nodes);
    const cluster = clusterOf(instance, site);
    await startPoolNode(
        cluster,
        cluster.realNodes.find((n) => n.name === node.name)!,
    );
    log(`${site}: new node ${node.name} (${node.instanceId}, ${zone}) joined the pool`);
    return node;
}

/** Replaces node `name` of `site`: stops it, then starts a new node in its zone. Returns the new node. */
export async function replaceNode(instance: Instance, site: string, name: string): Promise<LocalNode> {
    const node = instanceNodes(instance)[site]?.find((n) => n.name === name && !n.gone);
    if (!node) throw new Error(`${site} has no node ${name}`);
    await stopNode(instance, site, name);
    return startNewNode(instance, site, node.zone);
}

/**
 * Gives `instance` the inventory's nodes again: every node started since is stopped (and its Node
 * object deleted), and every node of the inventory that was stopped is started again, into the pool.
 * Of a stopped instance, only the record: its next start has the inventory's nodes.
 */
export async function restoreNodes(instance: Instance): Promise<void> {
    // Stopped, the next start begins with the inventory's nodes (and deletes the others' Node objects).
    if (!localClustersRunning(instance)) return writeInstanceNodes(instance, undefined);
    const now = instanceNodes(instance);
    for (const [site, nodes] of Object.entries(now)) {
        const original = new Set((INVENTORY[site] ?? []).map((n) => n.name));
        for (const node of nodes) if (!node.gone && !original.has(node.name)) await stopNode(instance, site, node.name);
    }
    writeInstanceNodes(instance, undefined);
    for (const cluster of localClusterSpecs(instance))
        for (const node of cluster.realNodes) if (!nodeRunning(node)) await startPoolNode(cluster, node);
}

async function main(command: string | undefined, args: string[]): Promise<void> {
    if (command === "replace" && args.length === 3) {
        const node = await replaceNode(checkInstance(args[0]), args[1], args[2]);
        console.log(`${args[2]} replaced by ${node.name} (${node.instanceId}, ${node.zone})`);
    } else if (command === "reboot" && args.length === 3) {
        await rebootNode(checkInstance(args[0]), args[1], args[2]);
    } else if (command === "restore" && args.length === 1) {
        await restoreNodes(checkInstance(args[0]));
    } else {
        console.error("usage: ts-node dev/local/nodeReplacement.ts replace|reboot <instance> <site> <node> | restore <instance>");
        process.exit(2);
    }
}

if (require.main === module) {
    main(process.argv[2], process.argv.slice(3)).catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
