// The local clusters of each local instance (demo, e2e, bench): one per site of the shipped
// topology, with the nodes that host a link end made real. Where each keeps its state, which ports
// and cgroups it uses: shared by everything that starts, stops or talks to the clusters.
import * as path from "path";
import { RealNode } from "./nodeConfig";
import { siteSubnet } from "./localUnderlay";
import { shippedTopology } from "../../lib/topologyFile";

const ROOT = path.join(__dirname, "..", "..");
/** The toolchain's binaries (dev/setup/toolchain.sh). */
export { BIN } from "./nodeConfig";

/** The local deployments that each have clusters of their own. */
export const INSTANCES = ["demo", "e2e", "bench"] as const;
export type Instance = (typeof INSTANCES)[number];

/**
 * Which node of each site each environment of examples/environments runs on when the local
 * clusters run them side by side (dev/local/localStacks.ts prepareLocalEnvironments): nodes of their
 * own, as in a cluster that environments share. Those nodes are real in the instances that run them.
 */
export const ENVIRONMENT_NODE = { production: 0, staging: 1 } as const;

/** The instances that run the environments side by side: the demo (npm run demo -- --environments) and the tests. */
const RUN_ENVIRONMENTS: readonly Instance[] = ["demo", "e2e"];

/** One local cluster: its site, its nodes (real and simulated), and the loopback ports it uses. */
export interface ClusterSpec {
    instance: Instance;
    name: string;
    /** Every node of the site, by name. */
    nodes: string[];
    /** The nodes that host a link end: they run pods for real. */
    realNodes: RealNode[];
    /** The others, which kwok simulates. */
    kwokNodes: string[];
    /** The cluster's bridge range (what the underlay routes to it). */
    bridgeRange: string;
    ports: { etcd: number; etcdPeer: number; api: number; controllerManager: number; scheduler: number; kwok: number };
}

export const instanceDir = (instance: Instance) => path.join(ROOT, ".cache", instance);
/** The cgroup that holds every process of an instance, in every hierarchy. */
export const instanceCgroup = (instance: Instance) => `plumr-${instance}`;
export const clusterCgroup = (c: ClusterSpec) => `${instanceCgroup(c.instance)}/${c.name}`;

export function checkInstance(instance: string): Instance {
    if (!(INSTANCES as readonly string[]).includes(instance))
        throw new Error(`unknown local instance "${instance}": use one of ${INSTANCES.join(", ")}`);
    return instance as Instance;
}

/**
 * The sites of the shipped topology as the local clusters of `instance`. A node is real when a
 * link of the topology has an end on it, or an endpoint is pinned to it, or (where the instance
 * runs the environments) an environment runs on it.
 */
export function localClusterSpecs(instance: Instance = "demo"): ClusterSpec[] {
    const i = INSTANCES.indexOf(checkInstance(instance));
    const topology = shippedTopology();
    const sites = topology.sites as Record<string, { bridgeRange: string; nodes: { name: string; range: string }[] }>;
    const endNodes = new Set<string>([
        ...(topology.links ?? []).flatMap((l: any) => (l.ends ?? []).map((e: any) => `${e.site}/${e.node}`)),
        ...Object.values<any>(topology.endpoints ?? {}).map((e) => `${e.site}/${e.node}`),
    ]);
    return Object.entries(sites).map(([name, site], s) => {
        if (s >= 16) throw new Error(`local clusters support at most 16 sites; the topology has ${Object.keys(sites).length}`);
        const realNodes: RealNode[] = [];
        const environmentNodes = RUN_ENVIRONMENTS.includes(instance) ? Object.values<number>(ENVIRONMENT_NODE) : [];
        site.nodes.forEach((node, k) => {
            if (!endNodes.has(`${name}/${node.name}`) && !environmentNodes.includes(k)) return;
            if (k >= 64)
                throw new Error(
                    `local clusters make real nodes of the first 64 nodes of a site; ${node.name} of ${name} is number ${k + 1}`,
                );
            const key = `n${k}`;
            realNodes.push({
                instance,
                cluster: name,
                name: node.name,
                key: `${name}-${key}`,
                index: k,
                range: node.range,
                netns: `plumr-${instance}-${name}-${key}`,
                dir: path.join(instanceDir(instance), "nodes", `${name}-${key}`),
                cgroup: `plumr-${instance}/${name}/${key}`,
                // 198.18.0.0/15 is reserved for lab networks: a /30 per node, on a veth of its own.
                hostAddress: `198.18.${i * 16 + s}.${4 * k + 1}`,
                address: `198.18.${i * 16 + s}.${4 * k + 2}`,
                hostVeth: `plk-${i}-${s}-${k}`,
                underlay: { address: siteSubnet(s).node(k), router: siteSubnet(s).router, prefixLength: siteSubnet(s).prefixLength },
                podSubnet: `100.64.${s * 16 + Math.floor(k / 4)}.${(k % 4) * 64}/26`,
            });
        });
        const real = new Set(realNodes.map((n) => n.name));
        return {
            instance,
            name,
            nodes: site.nodes.map((n) => n.name),
            realNodes,
            kwokNodes: site.nodes.map((n) => n.name).filter((n) => !real.has(n)),
            bridgeRange: site.bridgeRange,
            ports: {
                etcd: 23790 + i * 100 + s * 10,
                etcdPeer: 23791 + i * 100 + s * 10,
                api: 6441 + i * 10 + s,
                controllerManager: 10360 + i * 100 + s * 10,
                scheduler: 10361 + i * 100 + s * 10,
                kwok: 10362 + i * 100 + s * 10,
            },
        };
    });
}

/** Where a local cluster keeps its certificates, data, logs and kubeconfig. */
export const dirOf = (c: ClusterSpec) => path.join(instanceDir(c.instance), "clusters", c.name);
/** Path of the admin kubeconfig of a local cluster. */
export const kubeconfigPath = (c: ClusterSpec) => path.join(dirOf(c), "kubeconfig");
export const log = (message: string) => console.log(`[clusters ${new Date().toISOString().slice(11, 19)}] ${message}`);
