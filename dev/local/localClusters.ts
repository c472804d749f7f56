// Local Kubernetes clusters, one per site, that look like EC2 clusters, for the demo, the end-to-end
// tests and the benchmarks: a control plane on loopback (dev/local/controlPlane.ts); a real node
// (dev/local/localNodes.ts: kubelet, containerd, runc, Multus) for every node of the sites' pool,
// joined by an underlay of router namespaces (dev/local/localUnderlay.ts); and kwok playing the
// kubelets of the other nodes. Their nodes are the inventory of dev/local/clusterSpecs.ts, with
// each node's zone and instance as an EC2 node carries them.
//
// Each user of the clusters has an instance of its own (demo, e2e, bench): its own ports, state,
// namespaces and cgroups (dev/local/clusterSpecs.ts), so that the tests never touch a running demo.
// Every process of an instance runs in the cgroup plumr-<instance>, which is how stopping finds
// them all.
//
//   ts-node dev/local/localClusters.ts start|stop [--wipe]|status [demo|e2e|bench]
import * as fs from "fs";
import * as path from "path";
import { cgroupExists, cgroupProcesses, removeCgroupTree } from "./cgroups";
import {
    checkInstance,
    ClusterSpec,
    dirOf,
    Instance,
    INSTANCES,
    instanceCgroup,
    instanceDir,
    kubeconfigPath,
    localClusterSpecs,
    LocalNode,
    log,
    POOL_LABEL,
    providerId,
    ZONE_LABEL,
} from "./clusterSpecs";
import { pidFile, processes, startControlPlane, stopControlPlane } from "./controlPlane";
import { KubeApi } from "./kubeClient";
import { onInterrupt } from "../../lib/interrupts";
import { ip, nodeFailure, nodeRunning, RealNode, removeNode, startNode } from "./localNodes";
import { createUnderlay, removeUnderlay, routerInterface, routerNetns, underlayIntact } from "./localUnderlay";
import { runningPid, waitFor } from "../../lib/processes";

export * from "./clusterSpecs";
export * from "./kubeClient";

/** The labels of a node of the inventory: its zone and region, as the AWS cloud provider sets them. */
const zoneLabels = (node: LocalNode) => ({ [ZONE_LABEL]: node.zone, "topology.kubernetes.io/region": node.zone.slice(0, -1) });

/** The simulated nodes: Node objects written whole, with their instance and zone as EC2 nodes carry them; none is of the pool. */
async function registerKwokNodes(c: ClusterSpec, api: KubeApi): Promise<void> {
    for (const node of c.kwokNodes) {
        await api.ensure("/api/v1/nodes", {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: node.name,
                labels: {
                    "kubernetes.io/hostname": node.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    type: "kwok",
                    ...zoneLabels(node),
                },
                annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            },
            spec: { providerID: providerId(node) },
        });
    }
    // A node that was simulated before (another inventory) must be registered again by its kubelet,
    // and a node the cluster no longer has (one replaced while the cluster was stopped) is deleted, as
    // the cloud's node lifecycle controller deletes the node of an instance that is gone.
    const names = new Set(c.nodes.map((n) => n.name));
    for (const node of (await api.get("/api/v1/nodes")).items as any[]) {
        const name: string = node.metadata.name;
        const simulated = node.metadata.annotations?.["kwok.x-k8s.io/node"] !== undefined;
        if (!names.has(name) || (simulated && c.realNodes.some((n) => n.name === name)))
            await api.request("DELETE", `/api/v1/nodes/${name}`);
    }
}

const siteNames = (clusters: ClusterSpec[]) => clusters.map((c) => c.name);
const isReady = (node: any) => node?.status?.conditions?.some((x: any) => x.type === "Ready" && x.status === "True");

/** Starts a real node of cluster `c` (dev/local/localNodes.ts): its kubelet registers it with the API server. */
function startClusterNode(c: ClusterSpec, node: RealNode): Promise<void> {
    const dir = dirOf(c);
    const access = {
        apiPort: c.ports.api,
        ca: path.join(dir, "ca.crt"),
        clientCert: path.join(dir, "admin.crt"),
        clientKey: path.join(dir, "admin.key"),
    };
    return startNode(node, access, { netns: routerNetns(c.instance, c.name), interface: routerInterface(node.index) }, log);
}

/**
 * Puts the real nodes `nodes` of `c` in the pool once they are Ready: the pool's label is set
 * through the API after the kubelet has registered its node, as an administrator labels a node
 * (a kubelet may not set node-role.kubernetes.io/* labels on itself).
 */
async function joinPool(c: ClusterSpec, nodes: RealNode[]): Promise<void> {
    const api = new KubeApi(c);
    const names = [...c.kwokNodes.map((n) => n.name), ...nodes.map((n) => n.name)];
    await waitFor(
        `${c.name}'s nodes to be Ready (real nodes' logs: ${nodes.map((n) => n.dir).join(", ")})`,
        180_000,
        async () => {
            const ready = ((await api.get("/api/v1/nodes")).items as any[]).filter(isReady).map((n) => n.metadata.name);
            return names.every((name) => ready.includes(name)) ? true : undefined;
        },
        500,
        () => nodes.map(nodeFailure).find(Boolean),
    );
    for (const node of nodes) await api.patch(`/api/v1/nodes/${node.name}`, { metadata: { labels: { [POOL_LABEL]: "" } } });
}

/** Starts a real node of cluster `c` that joins the pool, as a node group's new instance does; waits until it has. */
export async function startPoolNode(c: ClusterSpec, node: RealNode): Promise<void> {
    await startClusterNode(c, node);
    await joinPool(c, [node]);
}

/** Whether every process, node and namespace of an instance's clusters is up. */
export function localClustersRunning(instance: Instance): boolean {
    const clusters = localClusterSpecs(instance);
    return (
        underlayIntact(instance, siteNames(clusters)) &&
        clusters.every((c) => processes(c).every((p) => runningPid(pidFile(c, p.name))) && c.realNodes.every(nodeRunning))
    );
}

/**
 * Starts an instance's clusters with their real and simulated nodes, and waits until every node is
 * Ready and the pool's nodes carry its label. Idempotent: what runs is kept. Leftovers of an
 * earlier run of the same instance that was killed (namespaces, cgroups, processes) are removed
 * first. Interrupted, it stops what it started. Returns whether it had to start anything.
 */
export async function startLocalClusters(instance: Instance): Promise<{ clusters: ClusterSpec[]; started: boolean }> {
    const clusters = localClusterSpecs(instance);
    if (localClustersRunning(instance)) return { clusters, started: false };
    const unregister = onInterrupt(() => stopLocalClusters(instance));
    const sites = siteNames(clusters);
    if (!underlayIntact(instance, sites)) {
        for (const node of clusters.flatMap((c) => c.realNodes)) removeNode(node);
        createUnderlay(instance, sites);
    }
    for (const c of clusters) {
        const api = await startControlPlane(c);
        await registerKwokNodes(c, api);
        for (const node of c.realNodes) await startClusterNode(c, node);
    }
    for (const c of clusters) {
        await joinPool(c, c.realNodes);
        const api = new KubeApi(c);
        await waitFor(`${c.name}'s NetworkAttachmentDefinition CRD`, 60_000, async () =>
            (await api.request("GET", "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions")).status === 200 ? true : undefined,
        );
        log(
            `${c.name}: up at https://127.0.0.1:${c.ports.api}; real nodes (the pool) ${c.realNodes.map((n) => n.name).join(", ") || "none"}; ` +
                `simulated ${c.kwokNodes.map((n) => n.name).join(", ") || "none"}; kubeconfig ${kubeconfigPath(c)}`,
        );
    }
    unregister();
    return { clusters, started: true };
}

/**
 * Stops everything of an instance: real nodes (their pods, mounts and namespaces), the underlay,
 * the control planes (etcd stopped gently first), then any process left in the instance's cgroup.
 * `wipe` also deletes the clusters' data. Synchronous, so that it can run from a signal handler.
 */
export function stopLocalClusters(instance: Instance, wipe = false): void {
    const clusters = localClusterSpecs(instance);
    for (const node of clusters.flatMap((c) => c.realNodes)) removeNode(node);
    removeUnderlay(instance, siteNames(clusters));
    for (const c of clusters) stopControlPlane(c);
    removeCgroupTree(instanceCgroup(instance));
    for (const ns of leftoverNamespaces(instance)) ip("netns", "del", ns);
    if (wipe) fs.rmSync(instanceDir(instance), { recursive: true, force: true });
    log(`${instance}: stopped${wipe ? " and wiped" : ""}`);
}

/** Network namespaces of an instance that exist now (named plumr-<instance>-...). */
export function leftoverNamespaces(instance: Instance): string[] {
    const prefix = `plumr-${instance}-`;
    return ip("netns", "list")
        .split("\n")
        .map((line) => line.split(" ")[0])
        .filter((name) => name.startsWith(prefix));
}

/** What of an instance is left on this machine: processes, namespaces, cgroups, mounts, veths. All empty when it is down. */
export function instanceLeftovers(instance: Instance): {
    processes: number[];
    namespaces: string[];
    cgroups: boolean;
    mounts: string[];
    links: string[];
} {
    const dir = instanceDir(instance);
    const veths = new Set(localClusterSpecs(instance).flatMap((c) => c.realNodes.map((n) => n.hostVeth)));
    return {
        processes: cgroupProcesses(instanceCgroup(instance)),
        namespaces: leftoverNamespaces(instance),
        cgroups: cgroupExists(instanceCgroup(instance)),
        mounts: fs
            .readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .filter((line) => line.includes(dir)),
        links: ip("-o", "link")
            .split("\n")
            .map((line) => line.split(": ")[1]?.split("@")[0])
            .filter((name): name is string => name !== undefined && veths.has(name)),
    };
}

/** Which of a cluster's control-plane processes are running. */
export function clusterStatus(c: ClusterSpec): Record<string, number | undefined> {
    return Object.fromEntries(processes(c).map((p) => [p.name, runningPid(pidFile(c, p.name))]));
}

async function main(command: string | undefined, instanceArg = "demo"): Promise<void> {
    const instance = checkInstance(instanceArg);
    switch (command) {
        case "start":
            await startLocalClusters(instance);
            break;
        case "stop":
            stopLocalClusters(instance, process.argv.includes("--wipe"));
            break;
        case "status":
            for (const c of localClusterSpecs(instance)) {
                console.log(c.name, JSON.stringify(clusterStatus(c)));
                for (const node of c.realNodes)
                    console.log(`  real node ${node.name}: ${nodeRunning(node) ? "running" : "stopped"} (${node.dir})`);
            }
            break;
        default:
            console.error(`usage: ts-node dev/local/localClusters.ts start|stop [--wipe]|status [${INSTANCES.join("|")}]`);
            process.exit(2);
    }
}

if (require.main === module) {
    const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
    main(args[0], args[1]).catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
