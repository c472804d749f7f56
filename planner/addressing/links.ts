// The links and the endpoints they join: checked (names, ends, explicit addresses, the tunnel
// pool's room), then planned from the addressing (each end's addresses, device and routes).
import * as a from "./addresses";
import type { Addressing } from "./allocations";
import { PlacedEndpoint, endpointField, topologyEndpoints, tunDevice } from "./endpoints";
import type { ParsedRanges } from "./ranges";
import { Problems, Unique } from "../problems/errors";
import { fieldPath, PlacedTopology } from "../topology/schema";
import type { EndPlan, EndpointPlan, LinkPlan } from "../types";
import { METRICS_PORT } from "../cluster/metrics";

/** Checks an endpoint's site and node; returns the node's range when both are known. */
function resolveEndpoint(topology: PlacedTopology, parsed: ParsedRanges, endpoint: PlacedEndpoint, problems: Problems): a.Cidr | undefined {
    const site = Object.hasOwn(topology.sites, endpoint.site) ? topology.sites[endpoint.site] : undefined;
    if (!site) {
        const known = Object.keys(topology.sites).join(", ");
        problems.add(endpointField(endpoint, "site"), endpoint.site, "no such site", `use one of the sites defined under sites: ${known}`);
        return undefined;
    }
    // An endpoint left without a node has its problem from the placement already (planner/pools).
    if (endpoint.node === "") return undefined;
    if (!site.nodes.some((n) => n.name === endpoint.node)) {
        const known = site.nodes.map((n) => n.name).join(", ");
        problems.add(
            endpointField(endpoint, "node"),
            endpoint.node,
            `not a node of site ${endpoint.site}`,
            `use one of ${known}, or add the node to sites.${endpoint.site}.nodes`,
        );
        return undefined;
    }
    return parsed.node[endpoint.site][endpoint.node];
}

export function parsePool(topology: PlacedTopology, problems: Problems): a.Cidr | undefined {
    const pool = a.parseCidr(topology.tunnel.pool);
    if ("cidr" in pool) return pool.cidr;
    problems.add(fieldPath(["tunnel", "pool"]), topology.tunnel.pool, pool.error, pool.fix);
    return undefined;
}

/** Names whose Kubernetes objects would be taken for the site's own: the node agent's (once the installer's) and the entrypoint's. */
const RESERVED_NAMES = ["node-agent", "installer", "entrypoint"];

/** Checks the links and endpoints: names, ends, explicit addresses, and that the tunnel pool can hold them all. */
export function checkLinks(topology: PlacedTopology, parsed: ParsedRanges, pool: a.Cidr | undefined, problems: Problems): void {
    checkPoolRoom(topology, pool, problems);
    const repeated = checkLinkList(topology, problems);
    checkEndpoints(topology, parsed, repeated, problems);
}

/** The tunnel pool holds a subnet for every link. */
function checkPoolRoom(topology: PlacedTopology, pool: a.Cidr | undefined, problems: Problems): void {
    const capacity = pool ? a.subnetCount(pool, topology.tunnel.prefixLength) : Infinity;
    if (topology.links.length > capacity) {
        problems.add(
            fieldPath(["tunnel", "pool"]),
            topology.tunnel.pool,
            `the tunnel pool is exhausted: ${topology.links.length} links need ${topology.links.length} /${topology.tunnel.prefixLength} subnets, the pool holds ${capacity}`,
            "widen the pool (e.g. a /24 holds 64 links at /30) or use prefixLength 31",
        );
    }
}

/**
 * Each link: its name (unique, not one the site's own objects use) and its ends (two different
 * sites, two different endpoints, no pair joined twice). Returns the names given twice: already a
 * problem, which their ends' resource names would only repeat.
 */
function checkLinkList(topology: PlacedTopology, problems: Problems): Set<string> {
    const names = new Unique(problems, "link name", "give every link its own name");
    const repeated = new Set<string>();
    const pairs = new Unique(problems, "pair of endpoints", "join two endpoints by one link; a link carries any traffic between them");
    topology.links.forEach((link, li) => {
        const linkField = fieldPath(["links", li]);
        if (!names.check(link.name, `${linkField}.name`)) repeated.add(link.name);
        if (RESERVED_NAMES.includes(link.name)) {
            problems.add(
                `${linkField}.name`,
                link.name,
                `its objects (plumr-${link.name}) would read as the site's own plumr-${link.name}`,
                `rename it, e.g. ${link.name}-link`,
            );
        }
        const [x, y] = link.ends;
        if (x.endpoint !== undefined && y.endpoint !== undefined) {
            if (x.endpoint === y.endpoint) {
                problems.add(
                    `${linkField}.endpoints`,
                    link.endpoints,
                    "joins an endpoint to itself",
                    "a link joins two endpoints in two different sites",
                );
                return;
            }
            pairs.check([x.endpoint, y.endpoint].sort().join(" and "), `${linkField}.endpoints`, link.endpoints);
        }
        if (x.site === y.site) {
            const field = x.endpoint === undefined ? `${linkField}.ends` : `${linkField}.endpoints`;
            problems.add(
                field,
                x.endpoint === undefined ? link.ends.map((e) => e.site) : link.endpoints,
                `both ${x.endpoint === undefined ? "ends" : "endpoints"} are in the same site, ${x.site}`,
                "a link joins two different sites",
            );
        }
    });

    return repeated;
}

/**
 * Each endpoint: its name (not one the site's own objects use, named by a link, not the name of a
 * link's written ends, giving resource names (<site>-<name>) no other endpoint gives), its site and
 * node, and the address the topology gives it.
 */
function checkEndpoints(topology: PlacedTopology, parsed: ParsedRanges, repeated: Set<string>, problems: Problems): void {
    // The objects of an endpoint are named plumr-<name> in its site's namespace, and a stack names
    // its resources <site>-<name>: site a-b with endpoint c and site a with endpoint b-c would clash.
    const resourceNames = new Unique(
        problems,
        "resource name (<site>-<endpoint or link>)",
        "rename one of the two endpoints, links (or sites)",
    );
    for (const endpoint of topologyEndpoints(topology)) {
        const field = fieldPath(endpoint.field);
        if (endpoint.named) {
            if (RESERVED_NAMES.includes(endpoint.name)) {
                problems.add(
                    field,
                    endpoint.name,
                    `its objects (plumr-${endpoint.name}) would read as the site's own plumr-${endpoint.name}`,
                    `rename it, e.g. ${endpoint.name}-1`,
                );
            }
            if (endpoint.ends.length === 0) {
                problems.add(
                    field,
                    endpoint.name,
                    "no link names it, so it would deploy nothing",
                    `add a link with endpoints: [${endpoint.name}, <another endpoint>], or remove it`,
                );
            }
        } else if (endpoint.ends[0].end === 0 && Object.hasOwn(topology.endpoints, endpoint.name)) {
            problems.add(
                fieldPath(["links", endpoint.ends[0].link, "name"]),
                endpoint.name,
                `the objects of its ends would be named like endpoint ${endpoint.name}'s (plumr-${endpoint.name})`,
                "rename the link or the endpoint",
            );
        }
        if (endpoint.named || !repeated.has(endpoint.name))
            resourceNames.check(`${endpoint.site}-${endpoint.name}`, endpointField(endpoint, "site"), endpoint.site);
        const range = resolveEndpoint(topology, parsed, endpoint, problems);
        if (range && endpoint.address !== undefined) checkEndpointAddress(endpoint, range, problems);
    }
}

/** An address the topology gives an endpoint: a host of its node's range, not the gateway. */
function checkEndpointAddress(endpoint: PlacedEndpoint, range: a.Cidr, problems: Problems): void {
    const addressField = endpointField(endpoint, "address");
    const address = a.parseIp(endpoint.address);
    const rangeText = a.formatCidr(range);
    const hosts = `pick a host address between ${a.formatIp(a.gateway(range) + 1)} and ${a.formatIp(a.broadcast(range) - 1)}`;
    if (address === undefined) {
        problems.add(addressField, endpoint.address, "not an IPv4 address", `write it as a.b.c.d inside ${rangeText}`);
    } else if (!a.contains(range, address)) {
        problems.add(
            addressField,
            endpoint.address,
            `outside node ${endpoint.node}'s range ${rangeText}`,
            `pick an address inside ${rangeText}, or pin the ${endpoint.named ? "endpoint" : "end"} to the node whose range holds it`,
        );
    } else if (address === range.network || address === a.broadcast(range)) {
        problems.add(
            addressField,
            endpoint.address,
            `the ${address === range.network ? "network" : "broadcast"} address of ${rangeText}`,
            hosts,
        );
    } else if (address === a.gateway(range)) {
        problems.add(addressField, endpoint.address, `the gateway address of ${rangeText} (the node's bridge has it)`, hosts);
    }
}

/**
 * Two links of one endpoint whose peers' names give the same tun device: only when two long names
 * share their start and the hash of the rest, which is next to impossible, but never silently.
 */
function checkDevices(endpoints: EndpointPlan[], problems: Problems): void {
    for (const endpoint of endpoints.filter((e) => e.named)) {
        const devices = new Unique(problems, `tun device in endpoint ${endpoint.name}`, "rename one of the two peer endpoints");
        for (const end of endpoint.ends) devices.check(end.device, fieldPath(["endpoints", endpoint.name]), end.device);
    }
}

/** Every link with its two ends, from the checked topology and its addressing. */
export function planLinks(topology: PlacedTopology, nodeRanges: ParsedRanges["node"], addressing: Addressing): LinkPlan[] {
    return topology.links.map((link, li) => {
        const { tunnelSubnet, port, addresses } = addressing.links[li];
        const firstTunnelHost = topology.tunnel.prefixLength === 31 ? tunnelSubnet.network : tunnelSubnet.network + 1;
        const ends = link.ends.map((end, ei): EndPlan => {
            const range = nodeRanges[end.site][end.node];
            const peer = link.ends[1 - ei];
            const site = topology.sites[end.site];
            // A pool's endpoint routes its whole bridge range through its node (its own slot is on
            // the link itself), so that a node joining or leaving the pool changes no endpoint.
            const ownSite = site.pool ? [site.bridgeRange] : site.nodes.filter((n) => n.name !== end.node).map((n) => n.range);
            return {
                link: link.name,
                site: end.site,
                node: end.node,
                ...(end.endpoint !== undefined && { endpoint: end.endpoint }),
                device: peer.endpoint === undefined ? topology.tunnel.device : tunDevice(peer.endpoint),
                address: a.formatIp(addresses[ei]),
                prefixLength: range.prefixLength,
                gateway: a.formatIp(a.gateway(range)),
                tunnelIp: a.formatIp(firstTunnelHost + ei),
                tunnelPrefixLength: topology.tunnel.prefixLength,
                port,
                routes: [...ownSite, topology.sites[peer.site].bridgeRange],
            };
        }) as [EndPlan, EndPlan];
        return { name: link.name, tunnelSubnet: a.formatCidr(tunnelSubnet), mtu: topology.tunnel.mtu, ends };
    });
}

/** Every endpoint that a link names: one pod with one address, and its link ends. Two of its devices with one name are a problem. */
export function planEndpoints(topology: PlacedTopology, links: LinkPlan[], problems: Problems): EndpointPlan[] {
    const endpoints = topologyEndpoints(topology)
        .filter((endpoint) => endpoint.ends.length > 0)
        .map((endpoint): EndpointPlan => {
            const ends = endpoint.ends.map(({ link, end }) => links[link].ends[end]);
            const [first] = ends;
            return {
                name: endpoint.name,
                named: endpoint.named,
                site: endpoint.site,
                node: endpoint.node,
                address: first.address,
                prefixLength: first.prefixLength,
                gateway: first.gateway,
                routes: [...new Set(ends.flatMap((end) => end.routes))],
                workload: (endpoint.named && topology.endpoints[endpoint.name].workload) || topology.sites[endpoint.site].workload,
                ends,
            };
        });
    checkDevices(endpoints, problems);
    checkWorkloadPorts(topology, endpoints, problems);
    return endpoints;
}

/**
 * The pod's metrics exporter listens on TCP METRICS_PORT and names its port `metrics`, which the
 * PodMonitor scrapes by name: a workload port may take neither.
 */
function checkMetricsPort(
    port: { containerPort: number; protocol?: string; name?: string },
    where: (string | number)[],
    reported: Set<string>,
    problems: Problems,
): void {
    const key = `${where.join(".")}/metrics`;
    if (reported.has(key)) return;
    if (port.containerPort === METRICS_PORT && (port.protocol ?? "TCP") === "TCP") {
        reported.add(key);
        problems.add(
            fieldPath([...where, "containerPort"]),
            port.containerPort,
            `TCP ${METRICS_PORT} is the endpoint pod's metrics port, on which its links' exporter listens in the same pod`,
            "use another port for the workload",
        );
    } else if (port.name === "metrics") {
        reported.add(key);
        problems.add(
            fieldPath([...where, "name"]),
            port.name,
            "the port name metrics is the links' exporter's, whose port Prometheus scrapes by this name",
            "give the workload's port another name",
        );
    }
}

/**
 * The workload shares its pod's network namespace with the plumr sidecars, which listen on their
 * links' UDP ports there: a workload port of the same number and protocol could never be bound.
 * Reported once per workload setting and port, on the workload that sets it.
 */
function checkWorkloadPorts(topology: PlacedTopology, endpoints: EndpointPlan[], problems: Problems): void {
    const reported = new Set<string>();
    for (const endpoint of endpoints) {
        const own = endpoint.named && topology.endpoints[endpoint.name].workload !== undefined;
        const where = own ? ["endpoints", endpoint.name, "workload"] : ["sites", endpoint.site, "workload"];
        (endpoint.workload.ports ?? []).forEach((port, i) => {
            checkMetricsPort(port, [...where, "ports", i], reported, problems);
            const end = endpoint.ends.find((e) => e.port === port.containerPort);
            if (!end || (port.protocol ?? "TCP") !== "UDP" || reported.has(`${where.join(".")}/${i}`)) return;
            reported.add(`${where.join(".")}/${i}`);
            problems.add(
                fieldPath([...where, "ports", i, "containerPort"]),
                port.containerPort,
                `UDP ${port.containerPort} is the port of link ${end.link}, on which endpoint ${endpoint.name}'s plumr listens in the same pod`,
                `use another port for the workload, or give link ${end.link} another port (links[].port)`,
            );
        });
    }
}
