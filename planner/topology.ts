import { z } from "zod";
import { Problems } from "./errors";

/** The config key that holds the topology, as users write it in Pulumi.yaml. */
export const TOPOLOGY_KEY = "plumr:topology";

// Names end up in Kubernetes object names and labels, so they must be DNS labels, and short
// enough that "plumr-<link>-config" still fits.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (what: string) =>
    z
        .string()
        .max(40, { error: `${what} must be at most 40 characters` })
        .regex(DNS_LABEL, {
            error: `${what} must be lower-case letters, digits and '-', starting and ending with a letter or digit`,
        });

const port = z.int().min(1).max(65535);

const node = z.strictObject({
    /** The node's `kubernetes.io/hostname` label (usually its name in `kubectl get nodes`). */
    name: z.string().min(1),
    /** The part of the site's bridge range that this node's bridge serves, e.g. 10.10.1.0/24. */
    range: z.string(),
    /** EC2 instance id of the node (AWS sites): its primary network interface receives the range's traffic. */
    instanceId: z.string().optional(),
    /** Availability zone of the node (AWS sites), e.g. us-east-2a: it must have a subnet of the Transit Gateway's attachment. */
    availabilityZone: z.string().optional(),
});

const workload = z.strictObject({
    /** Image of the workload container that uses the tunnel. */
    image: z.string().min(1),
    /**
     * Command of the workload container (default: sleep forever, and stop at once on SIGTERM: a
     * plain `sleep` as a container's first process ignores SIGTERM, so every restart of the
     * endpoint would wait out the grace period).
     */
    command: z.array(z.string()).default(["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]),
    /** Arguments of the workload container. */
    args: z.array(z.string()).optional(),
    /**
     * Seconds the endpoint pod's containers get to stop before they are killed. The next pod of
     * the endpoint (a new config, new binaries) starts only after the old one is gone, so this
     * bounds how long the link stops for a process that ignores SIGTERM.
     */
    terminationGracePeriodSeconds: z.int().min(0).max(300).default(10),
});

const attachmentSubnet = z.strictObject({
    /** The subnet, e.g. subnet-0a1b2c3d4e5f60718. */
    subnetId: z.string(),
    /** Its availability zone, e.g. us-east-2a. */
    availabilityZone: z.string(),
    /** The route table associated with the subnet. */
    routeTableId: z.string(),
});

const aws = z.strictObject({
    /** AWS region of the site's cluster, e.g. us-east-2. */
    region: z.string(),
    /**
     * How the bridge ranges are carried between the sites' VPCs: `transitGateway` (a Transit
     * Gateway per site, peered across regions) or `none` (the program does not touch AWS).
     */
    routing: z.enum(["transitGateway", "none", "vpcPeering"]).default("transitGateway"),
    /** The cluster's VPC. */
    vpcId: z.string().optional(),
    /** The VPC's CIDR block; no bridge range may overlap it. */
    vpcCidr: z.string().optional(),
    /** Route tables of the nodes' subnets: they get the node and peer routes. */
    routeTableIds: z.array(z.string()).default([]),
    /**
     * Subnets of the Transit Gateway's VPC attachment, one per availability zone. Traffic from the
     * Transit Gateway enters the VPC there, so their route tables get the node routes too.
     */
    attachmentSubnets: z.array(attachmentSubnet).default([]),
    /** Security groups of the nodes: they get the tunnel's UDP port and ICMP from the peers' ranges. */
    securityGroupIds: z.array(z.string()).default([]),
    /** An existing Transit Gateway to use instead of creating one. */
    transitGatewayId: z.string().optional(),
    /** Private ASN of the Transit Gateway the program creates. */
    transitGatewayAsn: z.int().min(64512).max(65534).default(64512),
});

const site = z.strictObject({
    /** `openshift` adds the SecurityContextConstraints grants; `kubernetes` does not. */
    platform: z.enum(["openshift", "kubernetes"]),
    /** Namespace that holds the installer and the site's link endpoints. */
    namespace: dnsLabel("a namespace").default("plumr"),
    /** The site's whole bridge range, e.g. 10.10.0.0/16; every node range lies inside it. */
    bridgeRange: z.string(),
    /** How the endpoint pod's second interface is attached: `bridge` (routed by the node) or `macvlan`. */
    attachment: z.enum(["bridge", "macvlan"]).default("bridge"),
    /** Linux bridge on each node that the `bridge` attachment uses. */
    bridgeName: z.string().min(1).max(15).default("br-plumr"),
    /** Host interface that the `macvlan` attachment uses. */
    macvlanMaster: z.string().min(1).max(15).default("eth0"),
    /** `native`: plumr is a Kubernetes native sidecar (≥ 1.29, OpenShift ≥ 4.16); `legacy`: a plain container. */
    sidecar: z.enum(["native", "legacy"]).default("native"),
    /** Image the plumr sidecar and the metrics container run in (default: the workload image). */
    sidecarImage: z.string().min(1).optional(),
    workload,
    nodes: z.array(node).min(1),
    /** Present when the site's cluster runs on AWS. */
    aws: aws.optional(),
});

const linkEnd = z.strictObject({
    /** The site this end is in. */
    site: z.string(),
    /** The node (`kubernetes.io/hostname`) the endpoint pod is pinned to. */
    node: z.string(),
    /** The endpoint's address inside its node's range (default: allocated, and recorded in the allocations file). */
    address: z.string().optional(),
});

const link = z.strictObject({
    /** Name of the link; used in Kubernetes object names. */
    name: dnsLabel("a link name"),
    /** The two ends of the link, in two different sites. */
    ends: z.tuple([linkEnd, linkEnd]),
    /** UDP port of this link's tunnel at both ends (default: allocated from tunnel.port upward). */
    port: port.optional(),
    /** This link's tunnel subnet, a tunnel.prefixLength subnet of tunnel.pool (default: allocated). */
    tunnelSubnet: z.string().optional(),
});

export const topologySchema = z.strictObject({
    tunnel: z.strictObject({
        /** Range the tunnel (tun device) addresses are allocated from, one small subnet per link. */
        pool: z.string().default("10.4.0.0/24"),
        /** Size of each link's tunnel subnet: 30 (two hosts, as in the original demo) or 31. */
        prefixLength: z.union([z.literal(30), z.literal(31)]).default(30),
        /** MTU of the tun device. */
        mtu: z.int().min(68).default(1452),
        /** MTU of the underlay path between the sites (the endpoint's second interface). */
        underlayMtu: z.int().min(576).max(9001).default(1500),
        /** Bytes plumr adds to each packet besides the outer IPv4 and UDP headers. */
        protocolOverhead: z.int().min(0).default(20),
        /** The first UDP port links are given: each link gets its own, from this one upward. */
        port,
        /** Name of the tun device plumr creates. */
        device: z.string().min(1).max(15).default("tun"),
        /** Shared-memory name plumr publishes its metrics under (read by shm_printer). */
        metricsName: z.string().min(1).default("plumr_metrics"),
    }),
    binaries: z.strictObject({
        /** Local directory holding the `plumr` and `shm_printer` binaries (relative to the project). */
        dir: z.string().min(1),
        /** Directory on every node where the installer puts the binaries. */
        hostPath: z.string().startsWith("/").default("/var/lib/plumr/bin"),
        /** Image of the installer DaemonSet; it needs sh, gzip, sha256sum and sleep. */
        installerImage: z.string().min(1).default("docker.io/library/busybox:1.36"),
    }),
    /** Local file with the plumr config template (relative to the project). */
    configTemplate: z.string().min(1),
    /**
     * Local file that records the values allocated to each link (relative to the project). `npm run
     * allocate` writes it; commit it with the topology so that changes never renumber a link.
     */
    allocations: z.string().min(1).default("plumr/allocations.json"),
    sites: z.record(dnsLabel("a site name"), site),
    links: z.array(link),
});

export type Topology = z.infer<typeof topologySchema>;
export type SiteConfig = Topology["sites"][string];
export type LinkConfig = Topology["links"][number];
export type LinkEndConfig = LinkConfig["ends"][number];

/** Renders a zod path as the user writes it: `sites.ohio.nodes[0].range`. */
export function fieldPath(path: readonly PropertyKey[], root = TOPOLOGY_KEY): string {
    return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`), root);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
    let value: any = raw;
    for (const key of path) {
        if (value === null || typeof value !== "object") return undefined;
        value = value[key as any];
    }
    return value;
}

function fixFor(issue: z.core.$ZodIssue, missing: boolean): string {
    switch (issue.code) {
        case "invalid_type":
            return missing ? `add it (a ${issue.expected})` : `write it as a ${issue.expected}`;
        case "unrecognized_keys":
            return "remove it or correct its spelling; the README's config reference lists every key";
        case "invalid_value": {
            const choices = issue.values.map((v) => JSON.stringify(v)).join(", ");
            return missing ? `add it: one of ${choices}` : `use one of: ${choices}`;
        }
        case "too_small":
            return `use at least ${issue.minimum}`;
        case "too_big":
            return `use at most ${issue.maximum}`;
        default:
            return "see the config reference in the README";
    }
}

/** Keys of a site's `aws` block that were replaced, and what to write instead. */
const RENAMED_AWS_KEYS: Record<string, string> = {
    subnetIds:
        "replace it with attachmentSubnets: one entry per subnet, {subnetId, availabilityZone, routeTableId}, so that " +
        "the subnets' route tables get the node routes and every endpoint node's zone is checked",
};

/**
 * Checks the shape of the topology (types, required fields, known keys, allowed values) and fills
 * in the defaults. Every problem names its field; all of them are reported at once.
 */
export function parseTopology(raw: unknown): Topology {
    const result = topologySchema.safeParse(raw);
    if (result.success) return result.data;
    const problems = new Problems();
    for (const issue of result.error.issues) {
        if (issue.code === "unrecognized_keys") {
            for (const key of issue.keys) {
                const path = [...issue.path, key];
                const renamed = issue.path[issue.path.length - 1] === "aws" ? RENAMED_AWS_KEYS[key] : undefined;
                problems.add(fieldPath(path), valueAt(raw, path), "unknown key", renamed ?? fixFor(issue, false));
            }
            continue;
        }
        if (issue.code === "invalid_key") {
            // A bad name in a map (a site name): report the name itself and the naming rule.
            const key = issue.path[issue.path.length - 1];
            problems.add(fieldPath(issue.path), key, issue.issues[0]?.message ?? issue.message, "rename it");
            continue;
        }
        const value = valueAt(raw, issue.path);
        const missing = value === undefined;
        problems.add(fieldPath(issue.path), value, missing ? "required, but missing" : issue.message, fixFor(issue, missing));
    }
    problems.throwIfAny();
    throw new Error("unreachable");
}
