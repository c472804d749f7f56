import { z } from "zod";
import { Finding, Problems } from "../problems/errors";
import * as id from "./identifiers";
import { formatPath, parseWithProblems } from "../problems/issues";

/**
 * The node agent's image unless binaries.installerImage names another: Red Hat's UBI, pulled
 * anonymously. Pinned by the digest of its multi-architecture manifest list, since Red Hat rebuilds
 * the 9.6 tag: every node runs the same image, and a new one comes only with a new program. The
 * docs/OPERATIONS.md says how to bump it.
 */
export const DEFAULT_AGENT_IMAGE =
    "registry.access.redhat.com/ubi9/ubi:9.6@sha256:dec374e05cc13ebbc0975c9f521f3db6942d27f8ccdf06b180160490eef8bdbc";

/** The config key that holds the topology, as users write it in Pulumi.yaml. */
export const TOPOLOGY_KEY = "plumr:topology";

/** A string that must pass `check`, one of the rules of planner/topology/identifiers.ts; what it finds becomes the problem. */
export const checked = (check: (value: string) => Finding | undefined) =>
    z.string().superRefine((value, ctx) => {
        const finding = check(value);
        if (finding) ctx.addIssue({ code: "custom", message: finding.message, params: { fix: finding.fix, at: finding.at } });
    });

// Names end up in Kubernetes object names and labels, so they must be DNS labels, and short
// enough that "plumr-<link>-config" still fits.
const dnsLabel = (what: string) => checked((value) => id.dnsLabel(value, what, 40));
const text = (example: string) => z.string().min(1).describe(`text, e.g. ${example}`);
const image = checked(id.imageReference).describe("an image reference, e.g. quay.io/dosmith/fedora-vlc-iptools:gen2");

const port = z.int().min(1).max(65535).describe("a UDP port, e.g. 5000");

const node = z
    .strictObject({
        /** The node's `kubernetes.io/hostname` label (usually its name in `kubectl get nodes`). */
        name: checked(id.nodeName).describe("the node's name, e.g. ip-10-0-154-10.us-east-2.compute.internal"),
        /** The part of the site's bridge range that this node's bridge serves, e.g. 10.10.1.0/24. */
        range: text("10.10.1.0/24"),
        /** EC2 instance id of the node (AWS sites): its primary network interface receives the range's traffic. */
        instanceId: text("i-0a1b2c3d4e5f60718").optional(),
        /** Availability zone of the node (AWS sites), e.g. us-east-2a: it must have a subnet of the Transit Gateway's attachment. */
        availabilityZone: text("us-east-2a").optional(),
    })
    .describe("a node: {name: <kubernetes.io/hostname>, range: <its part of the bridge range>}");

/**
 * What the API server checks across a container's fields: its port names are its own, and its
 * resources hold together (see checkResources).
 */
function checkWorkload(
    workload: {
        ports?: { name?: string }[];
        resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    },
    ctx: z.RefinementCtx,
): void {
    const names = new Map<string, number>();
    workload.ports?.forEach((port, i) => {
        // An empty name is no name, to the API server as here.
        if (!port.name) return;
        const first = names.get(port.name);
        if (first === undefined) names.set(port.name, i);
        else
            ctx.addIssue({
                code: "custom",
                path: ["ports", i, "name"],
                message: `ports[${first}] has this name too: a container's port names are its own`,
                params: { fix: "give each port its own name, or leave the name out" },
            });
    });
    if (workload.resources) checkResources(workload.resources, ctx);
}

/**
 * A container's resources as the API server checks them, after it fills a missing request with
 * the limit: no request above its limit; extended resources (a domain of their own) and hugepages
 * are never overcommitted, so their request needs a limit and equals it; extended resources come
 * in whole units; hugepages in whole pages, and only beside a cpu or memory request or limit.
 */
function checkResources(resources: { requests?: Record<string, string>; limits?: Record<string, string> }, ctx: z.RefinementCtx): void {
    const { requests = {}, limits = {} } = resources;
    const issue = (path: string[], message: string, fix: string) =>
        ctx.addIssue({ code: "custom", path: ["resources", ...path], message, params: { fix } });
    const hugepages = (name: string) => name.startsWith("hugepages-");
    const extended = (name: string) => name.includes("/") && !name.includes("kubernetes.io/");
    for (const [kind, list] of [
        ["requests", requests],
        ["limits", limits],
    ] as const) {
        for (const [name, quantity] of Object.entries(list)) {
            const millis = id.quantityMillis(quantity);
            if (millis === undefined) continue;
            if (extended(name) && millis % 1000n !== 0n) {
                const whole = (millis + 999n) / 1000n;
                issue([kind, name], `${name} is an extended resource, counted in whole units`, `write a whole number, e.g. ${whole || 1n}`);
            }
            const page = hugepages(name) ? id.quantityMillis(name.slice("hugepages-".length)) : undefined;
            // The API server rounds the quantity up to a whole byte, then counts pages.
            if (page !== undefined && (page <= 0n || ((millis + 999n) / 1000n) % (page / 1000n) !== 0n))
                issue(
                    [kind, name],
                    `not a whole number of ${name.slice("hugepages-".length)} pages`,
                    `write a multiple of the page size, e.g. ${name.slice("hugepages-".length)}`,
                );
        }
    }
    for (const [name, request] of Object.entries(requests)) {
        const [asked, most] = [id.quantityMillis(request), limits[name] === undefined ? undefined : id.quantityMillis(limits[name])];
        if (extended(name) || hugepages(name)) {
            if (limits[name] === undefined)
                issue(
                    ["limits", name],
                    `${name} has a request and no limit: the API server takes no overcommitment of ${hugepages(name) ? "hugepages" : "an extended resource"}, so it needs the limit`,
                    `set resources.limits.${name} to ${request}, or write only the limit (the request is then the limit)`,
                );
            else if (asked !== undefined && most !== undefined && asked !== most)
                issue(
                    ["requests", name],
                    `differs from its limit ${limits[name]}: ${name} is never overcommitted, so request and limit are equal`,
                    `request ${limits[name]}, or leave the request out`,
                );
        } else if (asked !== undefined && most !== undefined && asked > most)
            issue(
                ["requests", name],
                `more than its limit ${limits[name]} (resources.limits.${name}): the API server refuses a request above the limit`,
                `request at most ${limits[name]}, or raise the limit`,
            );
    }
    const all = [...Object.keys(requests), ...Object.keys(limits)];
    if (all.some(hugepages) && !all.some((name) => name === "cpu" || name === "memory"))
        issue([], "hugepages need a cpu or memory request or limit beside them", "add one, e.g. limits: {memory: 256Mi}");
}

/** The nodes of a site that may host its endpoints, found in its cluster by their labels. */
const pool = z
    .strictObject({
        /**
         * The labels a node must carry to be one of the pool (a label selector's matchLabels), e.g.
         * {node-role.kubernetes.io/plumr: ""} or {eks.amazonaws.com/nodegroup: plumr}.
         */
        selector: z
            .record(checked(id.labelKey), checked(id.labelValue).describe('a label value, e.g. "" or plumr'))
            .refine((labels) => Object.keys(labels).length > 0, {
                message: "empty: it would take every node of the cluster",
                params: { fix: 'name the label your endpoint nodes carry, e.g. selector: {node-role.kubernetes.io/plumr: ""}' },
            })
            .describe('a map of node labels, e.g. {node-role.kubernetes.io/plumr: ""}'),
        /** The size of each node's part of the bridge range (its slot), as a prefix length: 24 gives each node a /24. */
        prefixLength: z.int().min(8).max(30).default(24),
    })
    .describe('a pool: {selector: {<label>: <value>}, prefixLength: 24}, e.g. {selector: {node-role.kubernetes.io/plumr: ""}}');

const workload = z
    .strictObject({
        /** Image of the workload container that uses the tunnel. */
        image,
        /**
         * Command of the workload container (default: sleep forever, and stop at once on SIGTERM: a
         * plain `sleep` as a container's first process ignores SIGTERM, so every restart of the
         * endpoint would wait out the grace period).
         */
        command: z
            .array(z.string())
            .describe('a list of strings, e.g. ["/bin/sh", "-c", "sleep infinity"]')
            .default(["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]),
        /** Arguments of the workload container. */
        args: z.array(z.string()).describe('a list of strings, e.g. ["--verbose"]').optional(),
        /**
         * Seconds the endpoint pod's containers get to stop before they are killed. The next pod of
         * the endpoint (a new config, new binaries) starts only after the old one is gone, so this
         * bounds how long the link stops for a process that ignores SIGTERM.
         */
        terminationGracePeriodSeconds: z.int().min(0).max(300).default(10),
        /** Environment variables of the workload container, besides the PLUMR_* ones the program sets. */
        env: z
            .array(
                z
                    .strictObject({ name: checked(id.envVarName).describe("a variable's name, e.g. LOG_LEVEL"), value: z.string() })
                    .describe("a variable: {name: LOG_LEVEL, value: debug}"),
            )
            .describe("a list of variables, each {name: <name>, value: <value>}")
            .optional(),
        /** Ports the workload container listens on (for people and tools; the tunnel reaches every port). */
        ports: z
            .array(
                z
                    .strictObject({
                        name: checked(id.portName).describe("a port name, e.g. rtsp").optional(),
                        containerPort: z.int().min(1).max(65535).describe("a port, e.g. 8554"),
                        protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
                    })
                    .describe("a port: {containerPort: 8554, protocol: UDP, name: rtsp}"),
            )
            .describe("a list of ports, each {containerPort: <port>, and optionally protocol, name}")
            .optional(),
        /** CPU and memory requests and limits of the workload container, as Kubernetes writes them. */
        resources: z
            .strictObject({
                requests: z.record(checked(id.resourceName), checked(id.quantity)).describe('e.g. {cpu: "500m", memory: 256Mi}').optional(),
                limits: z.record(checked(id.resourceName), checked(id.quantity)).describe('e.g. {cpu: "2", memory: 1Gi}').optional(),
            })
            .describe("{requests: {cpu, memory}, limits: {cpu, memory}}")
            .optional(),
    })
    .superRefine(checkWorkload)
    .describe(
        "the workload container: {image: <image>}, and optionally command, args, env, ports, resources, terminationGracePeriodSeconds",
    );

const attachmentSubnet = z
    .strictObject({
        /** The subnet, e.g. subnet-0a1b2c3d4e5f60718. */
        subnetId: text("subnet-0a1b2c3d4e5f60718"),
        /** Its availability zone, e.g. us-east-2a. */
        availabilityZone: text("us-east-2a"),
        /** The route table associated with the subnet. */
        routeTableId: text("rtb-0a1b2c3d4e5f60718"),
    })
    .describe("a subnet: {subnetId: subnet-..., availabilityZone: <zone>, routeTableId: rtb-...}");

const aws = z
    .strictObject({
        /** AWS region of the site's cluster, e.g. us-east-2. */
        region: text("us-east-2"),
        /**
         * How the bridge ranges are carried between the sites' VPCs: `transitGateway` (a Transit
         * Gateway per site, peered across regions) or `none` (the program does not touch AWS).
         */
        routing: z.enum(["transitGateway", "none", "vpcPeering"]).default("transitGateway"),
        // The ids below are found in AWS from the routed nodes' instances when left out
        // (planner/aws/discovery.ts); written, each is a pin.
        /** The cluster's VPC: the one the routed nodes' subnets are in, which it must then be. */
        vpcId: text("vpc-0a1b2c3d4e5f60718").optional(),
        /** A CIDR block of the VPC, which it must then have; no bridge range may overlap any of the VPC's blocks. */
        vpcCidr: text("10.0.0.0/16").optional(),
        /** Route tables that get the node and peer routes, instead of the route tables of the routed nodes' subnets. */
        routeTableIds: z.array(z.string()).describe("a list of route table ids, e.g. [rtb-0a1b2c3d4e5f60718]").optional(),
        /**
         * Subnets of the Transit Gateway's VPC attachment, one per availability zone, instead of the
         * subnets of the nodes that host link ends. Traffic from the Transit Gateway enters the VPC
         * there, so their route tables get the node routes too.
         */
        attachmentSubnets: z
            .array(attachmentSubnet)
            .describe("a list of subnets, each {subnetId: subnet-..., availabilityZone: <zone>, routeTableId: rtb-...}")
            .optional(),
        /**
         * Security groups that get the tunnel's UDP port and ICMP from the peers' ranges, instead of
         * the routed nodes' instances' groups; [] opens none.
         */
        securityGroupIds: z.array(z.string()).describe("a list of security group ids, e.g. [sg-0a1b2c3d4e5f60718]").optional(),
        /** An existing Transit Gateway to use instead of creating one. */
        transitGatewayId: text("tgw-0a1b2c3d4e5f60718").optional(),
        /**
         * The route table of the existing Transit Gateway (transitGatewayId) that the site's
         * attachments are associated with and its routes go to (default: its default association
         * table). Required where the gateway's default route table association is off.
         */
        transitGatewayRouteTableId: text("tgw-rtb-0a1b2c3d4e5f60718").optional(),
        /** Private ASN of the Transit Gateway the program creates. */
        transitGatewayAsn: z.int().min(64512).max(65534).default(64512),
    })
    .describe("the site's AWS settings: {region: <region>, ...}");

/** Where the site's links are watched: the Prometheus operator's objects, and the alerts' thresholds. */
const monitoring = z
    .strictObject({
        /**
         * Whether the stack creates a PodMonitor for its endpoints and a PrometheusRule with the links'
         * alerts: `auto` where the cluster serves the Prometheus operator's monitoring.coreos.com/v1,
         * `required` the same but the preflight fails where it does not, `off` never.
         */
        prometheus: z.enum(["auto", "required", "off"]).default("auto"),
        /** How long a link stays down before PlumrLinkDown fires, as Prometheus writes durations. */
        linkDownFor: checked(id.prometheusDuration).default("5m"),
        /** The share of lost probes (over the exporter's window) above which PlumrLinkLossHigh fires. */
        lossRatioAbove: z.number().gt(0).lt(1).default(0.2),
    })
    .describe("the site's monitoring: {prometheus: auto|required|off, linkDownFor: 5m, lossRatioAbove: 0.2}")
    .prefault({});

const site = z
    .strictObject({
        /** `openshift` adds the SecurityContextConstraints grants; `kubernetes` does not. */
        platform: z.enum(["openshift", "kubernetes"]),
        /** Namespace that holds the node agent and the site's link endpoints. */
        namespace: checked((value) => id.dnsLabel(value, "a namespace", 63) ?? id.reservedNamespace(value)).default("plumr"),
        /** The site's whole bridge range, e.g. 10.10.0.0/16; every node range lies inside it. */
        bridgeRange: text("10.10.0.0/16"),
        /** How the endpoint pod's second interface is attached: `bridge` (routed by the node) or `macvlan`. */
        attachment: z.enum(["bridge", "macvlan"]).default("bridge"),
        /** Linux bridge on each node that the `bridge` attachment uses. */
        bridgeName: checked((value) => id.interfaceName(value, "a bridge name")).default("br-plumr"),
        /** Host interface that the `macvlan` attachment uses. */
        macvlanMaster: checked((value) => id.interfaceName(value, "an interface name")).default("eth0"),
        /**
         * Who lets the nodes forward the `bridge` attachment's traffic and keeps it out of source NAT:
         * `agent` (the site's node agent: forwarding on the bridge alone, and rules of its own for the
         * node's range, whatever OVN-Kubernetes's ipForwarding or the VPC CNI's SNAT say), or
         * `cluster` (the cluster's administrators: OVN-Kubernetes ipForwarding Global, the peers'
         * ranges in AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS; the preflight checks both).
         */
        nodeNetwork: z.enum(["agent", "cluster"]).default("agent"),
        /**
         * Directory the cluster's Multus runs CNI plugins from, on every node (its binDir). Default:
         * /var/lib/cni/bin on OpenShift, /opt/cni/bin elsewhere.
         */
        cniBinDir: checked(id.absoluteDirectory).optional(),
        /** `native`: plumr is a Kubernetes native sidecar (≥ 1.29, OpenShift ≥ 4.16); `legacy`: a plain container. */
        sidecar: z.enum(["native", "legacy"]).default("native"),
        /** Image the plumr sidecar and the metrics exporter run in (default: the workload image). */
        sidecarImage: image.optional(),
        /**
         * How each plumr sidecar gets the tun device, which it needs beside CAP_NET_ADMIN:
         * `hostPath` (the node's /dev/net/tun as a CharDevice volume, for runtimes whose default
         * device rules allow c 10:200: runc and crun but 1.2.0 to 1.2.3), `crioAnnotation` (CRI-O's
         * io.kubernetes.cri-o.Devices annotation, where /dev/net/tun is in its allowed_devices), or
         * `privileged` (a privileged sidecar, for runtimes that leave no other way).
         */
        tunDevice: z.enum(["hostPath", "crioAnnotation", "privileged"]).default("hostPath"),
        monitoring,
        workload,
        /**
         * The nodes that may host endpoints, each pinned with its part of the bridge range. Give
         * either `nodes` or `pool`.
         */
        nodes: z
            .array(node)
            .min(1)
            .describe("a list of nodes, each {name: <kubernetes.io/hostname>, range: <its part of the bridge range>}")
            .optional(),
        /**
         * The nodes that may host endpoints, found in the cluster by their labels: each holds a slot
         * of the bridge range while it exists (planner/pools). Give either `nodes` or `pool`.
         */
        pool: pool.optional(),
        /**
         * The cluster's own pod and service networks, where its API does not say them (on OpenShift
         * the preflight reads them): no bridge range or tunnel pool may overlap them.
         */
        clusterNetworks: z.array(text("10.128.0.0/14")).describe("a list of CIDRs, e.g. [10.128.0.0/14, 172.30.0.0/16]").optional(),
        /** Present when the site's cluster runs on AWS. */
        aws: aws.optional(),
    })
    .superRefine((site, ctx) => {
        if ((site.nodes === undefined) === (site.pool === undefined)) {
            const both = site.nodes !== undefined;
            ctx.addIssue({
                code: "custom",
                path: [both ? "pool" : "nodes"],
                message: both
                    ? "the site gives both nodes and pool; it takes one of them"
                    : "the site names neither its nodes nor its pool",
                params: {
                    fix: both
                        ? "keep nodes (every node pinned in the topology) and remove pool, or keep pool (nodes found by their labels) and remove nodes"
                        : "give pool: {selector: {<label>: <value>}} (nodes found by their labels), or nodes: [{name, range}, ...]",
                },
            });
        }
    })
    .describe("a site: {platform, bridgeRange, workload, pool or nodes, ...}");

const linkEnd = z
    .strictObject({
        /** The site this end is in. */
        site: text("ohio"),
        /** The node (`kubernetes.io/hostname`) the endpoint pod is pinned to; in a pool, optional (default: placed). */
        node: text("ip-10-0-154-10.us-east-2.compute.internal").optional(),
        /** The endpoint's address inside its node's range (default: allocated, and recorded in the allocations file). */
        address: text("10.10.1.200").optional(),
    })
    .describe("an end: {site: <site>, node: <node name>, address: <optional>} (node optional in a pool)");

const endpoint = z
    .strictObject({
        /** The site the endpoint is in. */
        site: text("ohio"),
        /** The node (`kubernetes.io/hostname`) the endpoint's pod is pinned to; in a pool, optional (default: placed). */
        node: text("ip-10-0-154-10.us-east-2.compute.internal").optional(),
        /** The endpoint's address inside its node's range, shared by all its links (default: allocated). */
        address: text("10.10.1.200").optional(),
        /** The endpoint's workload container (default: its site's `workload`). */
        workload: workload.optional(),
    })
    .describe("an endpoint: {site: <site>, node: <node name>, and optionally address, workload} (node optional in a pool)");

const link = z
    .strictObject({
        /** Name of the link; used in Kubernetes object names. */
        name: dnsLabel("a link name"),
        /**
         * The two ends of the link, in two different sites: each end is an endpoint of its own, named
         * after the link. Give either `ends` or `endpoints`.
         */
        ends: z.tuple([linkEnd, linkEnd]).describe("a list of exactly two ends, each {site: <site>, node: <node name>}").optional(),
        /** The two endpoints (names under `endpoints`) the link joins, in two different sites. Give either `ends` or `endpoints`. */
        endpoints: z
            .tuple([z.string().min(1), z.string().min(1)])
            .describe("a list of exactly two endpoint names, e.g. [hub, mumbai]")
            .optional(),
        /** UDP port of this link's tunnel at both ends (default: allocated from tunnel.port upward). */
        port: port.optional(),
        /** This link's tunnel subnet, a tunnel.prefixLength subnet of tunnel.pool (default: allocated). */
        tunnelSubnet: text("10.4.0.0/30").optional(),
    })
    .superRefine((link, ctx) => {
        if ((link.ends === undefined) === (link.endpoints === undefined)) {
            ctx.addIssue({
                code: "custom",
                path: [link.ends === undefined ? "ends" : "endpoints"],
                message:
                    link.ends === undefined
                        ? "the link names neither its ends nor its endpoints"
                        : "the link gives both ends and endpoints; it takes one of them",
                params: {
                    fix:
                        link.ends === undefined
                            ? "give endpoints: [<endpoint>, <endpoint>] (names under endpoints), or ends: [{site, node}, {site, node}]"
                            : "keep endpoints: [...] and define each endpoint under endpoints, or keep ends: [...] and remove endpoints",
                },
            });
        }
    })
    .describe("a link: {name: <name>, endpoints: [<endpoint>, <endpoint>]} or {name: <name>, ends: [<end>, <end>]}");

/**
 * A map of `value`s by name, each name a DNS label of at most 40 characters (`what` says what it
 * names, for the message). The names are checked beside the record, not as its keys, so that an
 * entry with a bad name has its contents checked too.
 */
function namedRecord<T extends z.ZodType>(value: T, what: string) {
    return z.record(z.string(), value).superRefine((entries, ctx) => {
        for (const name of Object.keys(entries)) {
            const finding = id.dnsLabel(name, what, 40);
            if (finding)
                ctx.addIssue({
                    code: "custom",
                    path: [name],
                    message: finding.message,
                    params: { fix: finding.fix, at: finding.at, key: true },
                });
        }
    });
}

/** The machines the nodes are, as Kubernetes names them (`kubernetes.io/arch`); the binaries must be built for them. */
export const ARCHITECTURES = ["amd64", "arm64"] as const;

export const topologySchema = z
    .strictObject({
        tunnel: z
            .strictObject({
                /** Range the tunnel (tun device) addresses are allocated from, one small subnet per link. */
                pool: text("10.4.0.0/24").default("10.4.0.0/24"),
                /** Size of each link's tunnel subnet: 30 (two hosts, as in the original demo) or 31. */
                prefixLength: z.literal([30, 31]).default(30),
                /** MTU of the tun device. */
                mtu: z.int().min(68).default(1452),
                /** MTU of the underlay path between the sites (the endpoint's second interface). */
                underlayMtu: z.int().min(576).max(9001).default(1500),
                /** Bytes plumr adds to each packet besides the outer IPv4 and UDP headers. */
                protocolOverhead: z.int().min(0).default(20),
                /** The first UDP port links are given: each link gets its own, from this one upward. */
                port,
                /** Name of the tun device plumr creates. */
                device: checked((value) => id.interfaceName(value, "a tun device name")).default("tun"),
                /** Shared-memory name plumr publishes its metrics under (read by shm_printer). */
                metricsName: checked(id.sharedMemoryName).default("plumr_metrics"),
            })
            .describe("the tunnel plan: {port: <first UDP port>, and optionally pool, prefixLength, mtu, ...}"),
        binaries: z
            .strictObject({
                /** Local directory holding the `plumr` and `shm_printer` binaries (relative to the project). */
                dir: text("binaries"),
                /** Directory on every node where the node agent puts the binaries. */
                hostPath: checked(id.nodeDirectory).default(id.DEFAULT_HOST_PATH),
                /**
                 * Local directory with the CNI plugins the attachments need (bridge or macvlan, and
                 * static), from a containernetworking/plugins release for binaries.architecture: the
                 * node agent installs those a node lacks (EKS nodes have them since VPC CNI 1.13; older ones may not).
                 * Unset, a node without them fails the node agent's check.
                 */
                cniPlugins: text("binaries/cni").optional(),
                /**
                 * Image of the node agent DaemonSet; it needs sh, chroot, gzip, sha256sum and sleep. The
                 * default comes from Red Hat's registry, which OpenShift clusters reach or mirror.
                 */
                installerImage: image.default(DEFAULT_AGENT_IMAGE),
                /** The nodes' machine (`kubernetes.io/arch`): the binaries must be ELF executables for it, or scripts. */
                architecture: z.enum(ARCHITECTURES).default("amd64"),
            })
            .describe("the binaries: {dir: <local directory with plumr and shm_printer>}"),
        /** Local file with the plumr config template (relative to the project). */
        configTemplate: text("plumr/config.template.json"),
        /**
         * Local file that records the values allocated to each link (relative to the project). `npm run
         * allocate` writes it; commit it with the topology so that changes never renumber a link.
         */
        allocations: text("plumr/allocations.json").default("plumr/allocations.json"),
        sites: namedRecord(site, "a site name").describe("a map of sites by name, e.g. {ohio: {platform: openshift, ...}}"),
        /**
         * Workloads by name, each at a site and pinned to a node: one pod with one underlay address and
         * one tunnel per link that names it. Links name them in `endpoints`.
         */
        endpoints: namedRecord(endpoint, "an endpoint name")
            .describe("a map of endpoints by name, e.g. {hub: {site: ohio, node: <node name>}}")
            .default({}),
        links: z.array(link).describe("a list of links, each {name: <name>, endpoints: [<endpoint>, <endpoint>]} or {name, ends}"),
    })
    .describe("a map with tunnel, binaries, configTemplate, sites and links (see docs/CONFIGURATION.md)");

/** The topology as written: a link gives `ends` or `endpoints`. */
export type WrittenTopology = z.infer<typeof topologySchema>;
export type SiteConfig = WrittenTopology["sites"][string];
export type EndpointConfig = WrittenTopology["endpoints"][string];
export type WorkloadConfig = SiteConfig["workload"];
export type NodeConfig = NonNullable<SiteConfig["nodes"]>[number];
export type PoolConfig = NonNullable<SiteConfig["pool"]>;

/** One end of a link: where it is, and the endpoint it is when the link names endpoints. */
export interface LinkEndConfig {
    site: string;
    /** The node it is pinned to; absent for an end placed in its site's pool. */
    node?: string;
    address?: string;
    /** The endpoint under `endpoints` this end is; undefined for an end written in the link (an endpoint of its own). */
    endpoint?: string;
}

/** A link with both its ends, whichever way it was written. */
export type LinkConfig = Omit<WrittenTopology["links"][number], "ends"> & { ends: [LinkEndConfig, LinkEndConfig] };

/** The checked topology: every link has its two ends, those of a link that names endpoints taken from them. */
export type Topology = Omit<WrittenTopology, "links"> & { links: LinkConfig[] };

/**
 * A node of a placed site: as written, or a pool's node, which holds slot `slot` (and, in a plan
 * made before the clusters are read, may be a stand-in for a node not known yet).
 */
export type PlacedNode = NodeConfig & { slot?: number; standIn?: boolean };
/** A site whose nodes are known: written in `nodes`, or the nodes that hold its pool's slots (planner/pools). */
export type PlacedSite = Omit<SiteConfig, "nodes"> & { nodes: PlacedNode[] };
/** An end on a known node. */
export type PlacedEnd = LinkEndConfig & { node: string };
/** A link whose two ends are on known nodes. */
export type PlacedLink = Omit<LinkConfig, "ends"> & { ends: [PlacedEnd, PlacedEnd] };

/**
 * The topology with every site's nodes and every endpoint's node known: what the planner addresses
 * and deploys. A site that lists its nodes is placed as written; a pool's nodes and endpoints are
 * placed by planner/pools from its cluster's nodes and the slots the allocations file records.
 */
export type PlacedTopology = Omit<Topology, "sites" | "links" | "endpoints"> & {
    sites: Record<string, PlacedSite>;
    links: PlacedLink[];
    endpoints: Record<string, EndpointConfig & { node: string }>;
};

/** Renders a field of the topology as the user writes it: `plumr:topology.sites.ohio.nodes[0].range`. */
export function fieldPath(path: readonly PropertyKey[]): string {
    return formatPath(path, TOPOLOGY_KEY);
}

/** Keys that were replaced, and what to write instead, by the key's parent. */
const RENAMED_KEYS: Record<string, Record<string, string>> = {
    aws: {
        subnetIds:
            "replace it with attachmentSubnets: one entry per subnet, {subnetId, availabilityZone, routeTableId}, so that " +
            "the subnets' route tables get the node routes and every endpoint node's zone is checked",
    },
};

/**
 * Checks the shape of the topology (types, required fields, known keys, allowed values, the rules
 * of the names it holds) and fills in the defaults. Every problem names its field; all of them
 * are reported at once.
 */
export function parseTopology(raw: unknown): Topology {
    const problems = new Problems();
    const topology = parseWithProblems(
        topologySchema,
        {
            root: TOPOLOGY_KEY,
            raw,
            unknownKey: (parent, key) => RENAMED_KEYS[String(parent[parent.length - 1])]?.[key],
        },
        problems,
    );
    problems.throwIfAny();
    const resolved = resolveEndpoints(topology!, problems);
    problems.throwIfAny();
    return resolved;
}

/**
 * Gives each link that names endpoints its two ends, from the endpoints' sites, nodes and addresses.
 * A name that is not under `endpoints` is a problem on the link.
 */
function resolveEndpoints(topology: WrittenTopology, problems: Problems): Topology {
    const links = topology.links.map((link, li): LinkConfig => {
        if (link.ends) return { ...link, ends: link.ends };
        const ends = link.endpoints!.map((name, ei): LinkEndConfig => {
            const endpoint = Object.hasOwn(topology.endpoints, name) ? topology.endpoints[name] : undefined;
            if (!endpoint) {
                const known = Object.keys(topology.endpoints);
                problems.add(
                    fieldPath(["links", li, "endpoints", ei]),
                    name,
                    "no such endpoint",
                    known.length > 0
                        ? `use one of the endpoints defined under endpoints: ${known.join(", ")}, or define ${name} there`
                        : `define it under endpoints, e.g. endpoints: {${name}: {site: <site>, node: <node name>}}`,
                );
                return { site: "", node: "", endpoint: name };
            }
            return { site: endpoint.site, node: endpoint.node, address: endpoint.address, endpoint: name };
        });
        return { ...link, ends: ends as [LinkEndConfig, LinkEndConfig] };
    });
    return { ...topology, links };
}
