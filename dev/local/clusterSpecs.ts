// The local clusters of each local instance (demo, e2e, bench): one per site, each with the nodes
// an EC2 node group would give it (names, zones, instances), those of the sites' pool made real.
// Where each keeps its state, which ports and cgroups it uses: shared by everything that starts,
// stops or talks to the clusters.
import * as fs from "fs";
import * as path from "path";
import { RealNode } from "./nodeConfig";
import { siteSubnet } from "./localUnderlay";

const ROOT = path.join(__dirname, "..", "..");
/** The toolchain's binaries (dev/setup/toolchain.sh). */
export { BIN } from "./nodeConfig";

/** The local deployments that each have clusters of their own. */
export const INSTANCES = ["demo", "e2e", "bench"] as const;
export type Instance = (typeof INSTANCES)[number];

/** A node of a local cluster, as an EC2 node group has it. */
export interface LocalNode {
    /** Its name, which is also its kubernetes.io/hostname. */
    name: string;
    /** Its availability zone: its topology.kubernetes.io/zone label, and part of its spec.providerID. */
    zone: string;
    /** Its EC2 instance: the end of its spec.providerID. */
    instanceId: string;
    /**
     * In the sites' pool (it carries POOL_LABEL). Every node of the pool is real (kubelet,
     * containerd, runc, Multus), since the program may place an endpoint on any of them; the
     * others are simulated by kwok, so that the pool's selector visibly picks.
     */
    pool: boolean;
}

/** The label the shipped topology's pools select (Pulumi.yaml): the nodes that may host endpoints. */
export const POOL_LABEL = "node-role.kubernetes.io/plumr";
/** The label a node's zone is read from. */
export const ZONE_LABEL = "topology.kubernetes.io/zone";
/** A node's spec.providerID, as the AWS cloud provider writes it. */
export const providerId = (node: Pick<LocalNode, "zone" | "instanceId">) => `aws:///${node.zone}/${node.instanceId}`;

/**
 * Each site's nodes, as the original demo's clusters had them: two of each pool (every node of a
 * pool is a kubelet and a containerd here, so the pools stay small) and one node outside it.
 */
export const INVENTORY: Record<string, LocalNode[]> = {
    ohio: [
        { name: "ip-10-0-154-10.us-east-2.compute.internal", zone: "us-east-2a", instanceId: "i-0a10000000000001a", pool: true },
        { name: "ip-10-0-171-33.us-east-2.compute.internal", zone: "us-east-2b", instanceId: "i-0a10000000000002a", pool: true },
        // An infrastructure node: first by name, so a selector that did not pick would give it slot 1.
        { name: "ip-10-0-129-44.us-east-2.compute.internal", zone: "us-east-2a", instanceId: "i-0a10000000000003a", pool: false },
    ],
    mumbai: [
        { name: "ip-10-1-241-95.ap-south-1.compute.internal", zone: "ap-south-1a", instanceId: "i-0a20000000000001a", pool: true },
        { name: "ip-10-1-236-160.ap-south-1.compute.internal", zone: "ap-south-1b", instanceId: "i-0a20000000000002a", pool: true },
        { name: "ip-10-1-202-17.ap-south-1.compute.internal", zone: "ap-south-1c", instanceId: "i-0a20000000000003a", pool: false },
    ],
};

/** A node of an instance's cluster: of the inventory, or started since; `gone` once stopped (dev/local/nodeReplacement.ts). */
export type InstanceNode = LocalNode & { gone?: boolean };

/**
 * Which pool node of each site each environment of examples/environments runs on when the local
 * clusters run them side by side (dev/local/localStacks.ts prepareLocalEnvironments labels it with
 * ENVIRONMENT_LABEL): nodes of their own, as in a cluster that environments share.
 */
export const ENVIRONMENT_NODE = { production: 0, staging: 1 } as const;
/** The label that puts a node in an environment's pool (examples/environments). */
export const ENVIRONMENT_LABEL = "plumr/environment";

/** One local cluster: its site, its nodes (real and simulated), and the loopback ports it uses. */
export interface ClusterSpec {
    instance: Instance;
    name: string;
    /** Every node the cluster has now. */
    nodes: LocalNode[];
    /** The nodes of the pool: they run pods for real. */
    realNodes: RealNode[];
    /** The others, which kwok simulates. */
    kwokNodes: LocalNode[];
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

/** Where an instance records its nodes once they differ from the inventory (a node stopped, another started). */
const nodesFile = (instance: Instance) => path.join(instanceDir(instance), "nodes.json");

/** Each site's nodes in `instance`, in the order they joined: the inventory's, unless nodes were replaced. */
export function instanceNodes(instance: Instance): Record<string, InstanceNode[]> {
    const file = nodesFile(instance);
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : structuredClone(INVENTORY);
}

/** Records each site's nodes of `instance`; the inventory's again when `nodes` is undefined. */
export function writeInstanceNodes(instance: Instance, nodes: Record<string, InstanceNode[]> | undefined): void {
    const file = nodesFile(instance);
    if (nodes === undefined) return fs.rmSync(file, { force: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(nodes, null, 2)}\n`);
}

/** A real node of site `site` (its `s`-th), the `k`-th node to join it, in instance `i`. */
function realNode(instance: Instance, i: number, site: string, s: number, node: LocalNode, k: number): RealNode {
    if (k >= 64) throw new Error(`local clusters have at most 64 nodes per site; ${node.name} of ${site} is number ${k + 1}`);
    const key = `n${k}`;
    return {
        instance,
        cluster: site,
        name: node.name,
        zone: node.zone,
        instanceId: node.instanceId,
        key: `${site}-${key}`,
        index: k,
        netns: `plumr-${instance}-${site}-${key}`,
        dir: path.join(instanceDir(instance), "nodes", `${site}-${key}`),
        cgroup: `plumr-${instance}/${site}/${key}`,
        // 198.18.0.0/15 is reserved for lab networks: a /30 per node, on a veth of its own.
        hostAddress: `198.18.${i * 16 + s}.${4 * k + 1}`,
        address: `198.18.${i * 16 + s}.${4 * k + 2}`,
        hostVeth: `plk-${i}-${s}-${k}`,
        underlay: { address: siteSubnet(s).node(k), router: siteSubnet(s).router, prefixLength: siteSubnet(s).prefixLength },
        // The machine routes each node's pod range to the node (the API server's pod proxy): a /16 of
        // 100.64.0.0/10 per instance, so that instances running side by side never share a route.
        podSubnet: `100.${72 + i}.${s * 16 + Math.floor(k / 4)}.${(k % 4) * 64}/26`,
    };
}

/** The local clusters of `instance`, one per site, with the nodes each has now. */
export function localClusterSpecs(instance: Instance = "demo"): ClusterSpec[] {
    const i = INSTANCES.indexOf(checkInstance(instance));
    return Object.entries(instanceNodes(instance)).map(([name, all], s) => {
        if (s >= 16) throw new Error(`local clusters support at most 16 sites; the inventory has ${Object.keys(INVENTORY).length}`);
        // A node keeps its number (its namespace, addresses and directory) however many nodes come and go.
        const nodes = all.map((node, k) => ({ node, k })).filter(({ node }) => !node.gone);
        return {
            instance,
            name,
            nodes: nodes.map(({ node }) => node),
            realNodes: nodes.filter(({ node }) => node.pool).map(({ node, k }) => realNode(instance, i, name, s, node, k)),
            kwokNodes: nodes.filter(({ node }) => !node.pool).map(({ node }) => node),
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
