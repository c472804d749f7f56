// Stable addressing. Every link gets a tunnel subnet, a UDP port and an address per end. Values
// the topology gives are used as they are; the others are allocated, and recorded in the
// allocations file next to the topology. A recorded value is kept for as long as it still fits
// the topology, so adding, removing or reordering links never renumbers the others.
import { z } from "zod";
import * as a from "./addresses";
import { PlacedEndpoint, endpointField, topologyEndpoints } from "./endpoints";
import { Problems } from "../problems/errors";
import { parseWithProblems } from "../problems/issues";
import type { SiteSlots } from "../pools/slots";
import { fieldPath, PlacedTopology, Topology } from "../topology/schema";

/** What the allocations file records for one end of a link. */
export interface EndRecord {
    site: string;
    /** The node it runs on; in a pool, the node of its slot, left out while none is known. */
    node?: string;
    address: string;
}

/** What the allocations file records for one link. */
export interface LinkRecord {
    tunnelSubnet: string;
    port: number;
    ends: EndRecord[];
}

/** The allocations file: every pool site's slots, and every link's values, keyed by link name. */
export interface Allocations {
    /** Which node holds each slot of a pool site, by site. */
    sites?: Record<string, { slots: SiteSlots }>;
    links: Record<string, LinkRecord>;
}

/** How the recorded allocations differ from what the topology needs now (link names). */
export interface AllocationChanges {
    /** Links the file does not record yet. */
    added: string[];
    /** Links the file records that are no longer in the topology: their values stay reserved until the file is rewritten. */
    removed: string[];
    /** Links whose values differ from the recorded ones (an end moved, a value was given, or a range changed). */
    changed: string[];
    /** Slots of pools whose node differs from the recorded one: `ohio slot 1 (ip-a → ip-b)`. */
    slots: string[];
}

/** The values one link ends up with, in the topology's order of links and ends. */
export interface LinkAddressing {
    tunnelSubnet: a.Cidr;
    port: number;
    addresses: [number, number];
}

export interface Addressing {
    links: LinkAddressing[];
    /** What the allocations file must say now. */
    record: Allocations;
    changes: AllocationChanges;
}

const ABOUT =
    "Written by `npm run allocate` (and `npm run discover -- <stack> --write`): the node that holds each slot of a pool, and the " +
    "tunnel subnet, port and addresses each link was given. Commit it with the topology; recorded values are kept while they fit, " +
    "so later changes never renumber a link or move an endpoint.";

const slotHolderSchema = z.strictObject({ node: z.string(), instanceId: z.string().optional(), zone: z.string().optional() });

const fileSchema = z.strictObject({
    about: z.string().optional(),
    sites: z.record(z.string(), z.strictObject({ slots: z.record(z.string().regex(/^[1-9][0-9]*$/), slotHolderSchema) })).optional(),
    links: z.record(
        z.string(),
        z.strictObject({
            tunnelSubnet: z.string(),
            port: z.int().min(1).max(65535),
            ends: z.array(z.strictObject({ site: z.string(), node: z.string().optional(), address: z.string() })),
        }),
    ),
});

/**
 * Reads the allocations file's text; a missing file records nothing. A file that cannot be read
 * is a problem on the topology's `allocations` field, never silently ignored: ignoring it would
 * renumber every link.
 */
export function parseAllocations(text: string | undefined, topology: Topology, problems: Problems): Allocations {
    if (text === undefined) return { links: {} };
    const fix = "restore it from version control; if it is lost, delete it and run npm run allocate (every link may get new values)";
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (err) {
        problems.add(fieldPath(["allocations"]), topology.allocations, `not valid JSON: ${(err as Error).message}`, fix);
        return { links: {} };
    }
    const found = new Problems();
    const file = parseWithProblems(fileSchema, { root: "the file", raw }, found);
    if (!file) {
        const [first] = found.list;
        problems.add(fieldPath(["allocations"]), topology.allocations, `not an allocations file: ${first.field}: ${first.message}`, fix);
        return { links: {} };
    }
    const sites =
        file.sites &&
        Object.fromEntries(
            Object.entries(file.sites).map(([site, { slots }]) => [
                site,
                { slots: Object.fromEntries(Object.entries(slots).map(([n, h]) => [Number(n), h])) },
            ]),
        );
    return { ...(sites && { sites }), links: file.links };
}

/** A link's record with its keys in one fixed order. */
const normalized = (link: LinkRecord): LinkRecord => ({
    tunnelSubnet: link.tunnelSubnet,
    port: link.port,
    ends: link.ends.map((end) => ({ site: end.site, ...(end.node !== undefined && { node: end.node }), address: end.address })),
});

const sameRecord = (x: LinkRecord, y: LinkRecord) => JSON.stringify(normalized(x)) === JSON.stringify(normalized(y));

/** The allocations file's text: sorted by link name and stable, so it diffs well in review. */
export function formatAllocations(allocations: Allocations): string {
    const links: Record<string, LinkRecord> = {};
    for (const name of Object.keys(allocations.links).sort()) links[name] = normalized(allocations.links[name]);
    const sites: Record<string, { slots: Record<string, SiteSlots[number]> }> = {};
    for (const site of Object.keys(allocations.sites ?? {}).sort()) {
        const slots = allocations.sites![site].slots;
        sites[site] = {
            slots: Object.fromEntries(
                Object.keys(slots)
                    .map(Number)
                    .sort((x, y) => x - y)
                    .map((n) => [String(n), holderOf(slots[n])]),
            ),
        };
    }
    const file = Object.keys(sites).length > 0 ? { about: ABOUT, sites, links } : { about: ABOUT, links };
    return `${JSON.stringify(file, null, 2)}\n`;
}

/** A slot's holder with its keys in one fixed order. */
const holderOf = (holder: SiteSlots[number]) => ({
    node: holder.node,
    ...(holder.instanceId !== undefined && { instanceId: holder.instanceId }),
    ...(holder.zone !== undefined && { zone: holder.zone }),
});

/** A range of numbers handed out lowest first, skipping taken ones; each value has one owner. */
class Allocator {
    private readonly owners = new Map<number, string>();
    private cursor: number;

    constructor(
        readonly first: number,
        readonly last: number,
    ) {
        this.cursor = first;
    }

    ownerOf(value: number): string | undefined {
        return this.owners.get(value);
    }

    /** Takes `value` for `owner`; false when it is outside the range or already taken. */
    take(value: number, owner: string): boolean {
        if (value < this.first || value > this.last || this.owners.has(value)) return false;
        this.owners.set(value, owner);
        return true;
    }

    /** The lowest free value. Values are only taken, never given back, so the cursor only moves up. */
    next(owner: string): number | undefined {
        while (this.cursor <= this.last && this.owners.has(this.cursor)) this.cursor++;
        if (this.cursor > this.last) return undefined;
        this.owners.set(this.cursor, owner);
        return this.cursor;
    }
}

/** The host addresses of a node range that an endpoint may have: after the gateway, before broadcast. */
const hostAllocator = (range: a.Cidr) => new Allocator(a.gateway(range) + 1, a.broadcast(range) - 1);

/** The values taken so far, by link and by endpoint, that the steps of assignAddressing fill in turn. */
class Assignment {
    readonly prefixLength: number;
    readonly subnetSize: number;
    readonly subnets: Allocator;
    readonly ports: Allocator;
    /** Ports the topology gives: a link may keep a recorded port that another link names. */
    readonly explicitPorts = new Set<number>();
    private readonly hosts = new Map<string, Allocator>();
    /** `<site>/<node>` of the stand-in nodes of a provisional plan: no record names them. */
    readonly standIns: Set<string>;
    readonly links: PlacedTopology["links"];
    readonly endpoints: PlacedEndpoint[];
    /** Each link's tunnel subnet, as its index in the tunnel pool. */
    readonly subnet: (number | undefined)[];
    readonly port: (number | undefined)[];
    /** One address per endpoint: every link end of a named endpoint has the same. */
    readonly address: (number | undefined)[];

    constructor(
        readonly topology: PlacedTopology,
        readonly pool: a.Cidr,
        readonly nodeRanges: Record<string, Record<string, a.Cidr>>,
    ) {
        this.prefixLength = topology.tunnel.prefixLength;
        this.subnetSize = 2 ** (32 - this.prefixLength);
        this.subnets = new Allocator(0, a.subnetCount(pool, this.prefixLength) - 1);
        this.ports = new Allocator(topology.tunnel.port, 65535);
        this.links = topology.links;
        this.endpoints = topologyEndpoints(topology);
        this.subnet = this.links.map(() => undefined);
        this.port = this.links.map(() => undefined);
        this.address = this.endpoints.map(() => undefined);
        this.standIns = new Set(
            Object.entries(topology.sites).flatMap(([site, config]) =>
                config.nodes.filter((node) => node.standIn).map((node) => `${site}/${node.name}`),
            ),
        );
    }

    /** The addresses of the node of `site` whose range holds `address`, if any. */
    hostsHolding(site: string, address: number): Allocator | undefined {
        const node = Object.entries(this.nodeRanges[site] ?? {}).find(([, range]) => a.contains(range, address))?.[0];
        return node === undefined ? undefined : this.hostsOf(site, node);
    }

    /** The addresses of a node, or undefined when the topology has no such node. */
    hostsOf(site: string, node: string): Allocator | undefined {
        const key = `${site}/${node}`;
        let allocator = this.hosts.get(key);
        const range = this.nodeRanges[site]?.[node];
        if (!allocator && range) this.hosts.set(key, (allocator = hostAllocator(range)));
        return allocator;
    }

    /** The index of a recorded or given subnet in the tunnel pool, when it is one of the pool's subnets of the right size. */
    subnetIndexOf(text: string): number | undefined {
        const parsed = a.parseCidr(text);
        if ("error" in parsed || parsed.cidr.prefixLength !== this.prefixLength || !a.contains(this.pool, parsed.cidr.network)) {
            return undefined;
        }
        return (parsed.cidr.network - this.pool.network) / this.subnetSize;
    }
}

const recordOf = (recorded: Allocations, name: string) => (Object.hasOwn(recorded.links, name) ? recorded.links[name] : undefined);

/** Step 1: the values the topology gives. Their validity was checked before; clashes between them are reported here. */
function takeGivenValues(assignment: Assignment, problems: Problems): void {
    const { topology, prefixLength, subnets, ports, subnet, port } = assignment;
    assignment.links.forEach((link, li) => {
        const field = fieldPath(["links", li]);
        if (link.tunnelSubnet !== undefined) {
            const s = assignment.subnetIndexOf(link.tunnelSubnet);
            if (s === undefined) {
                problems.add(
                    `${field}.tunnelSubnet`,
                    link.tunnelSubnet,
                    `not a /${prefixLength} subnet of the tunnel pool ${topology.tunnel.pool}`,
                    `pick a /${prefixLength} inside ${topology.tunnel.pool} (tunnel.prefixLength), or leave it out to have one allocated`,
                );
            } else if (!subnets.take(s, link.name)) {
                problems.add(
                    `${field}.tunnelSubnet`,
                    link.tunnelSubnet,
                    `already the tunnel subnet of link ${subnets.ownerOf(s)}`,
                    "give every link its own tunnel subnet, or leave it out to have one allocated",
                );
            } else {
                subnet[li] = s;
            }
        }
        if (link.port !== undefined) {
            ports.take(link.port, link.name);
            assignment.explicitPorts.add(link.port);
            port[li] = link.port;
        }
    });
    assignment.endpoints.forEach((endpoint, i) => {
        if (endpoint.address === undefined) return;
        const value = a.parseIp(endpoint.address)!;
        const hostsHere = assignment.hostsOf(endpoint.site, endpoint.node)!;
        if (!hostsHere.take(value, endpoint.owner)) {
            problems.add(
                endpointField(endpoint, "address"),
                endpoint.address,
                `already used by ${hostsHere.ownerOf(value)}`,
                "give every endpoint (and every link end written in a link) its own address",
            );
        }
        assignment.address[i] = value;
    });
}

/**
 * Step 2: the values the file records, first for links in the topology, then those of removed
 * links. Returns the removed links' names, sorted.
 */
function keepRecordedValues(assignment: Assignment, recorded: Allocations): string[] {
    const { links, subnets, ports, subnet, port, address } = assignment;
    links.forEach((link, li) => {
        const record = recordOf(recorded, link.name);
        if (!record) return;
        if (subnet[li] === undefined) {
            const s = assignment.subnetIndexOf(record.tunnelSubnet);
            if (s !== undefined && subnets.take(s, link.name)) subnet[li] = s;
        }
        // Ends of different endpoints never share an address, so a link may keep a port another link names.
        if (
            port[li] === undefined &&
            record.port >= ports.first &&
            (ports.take(record.port, link.name) || assignment.explicitPorts.has(record.port))
        ) {
            port[li] = record.port;
        }
    });
    // An endpoint keeps the address recorded for the first of its link ends that has one in its node's
    // range: in a pool, the range of its slot, whichever node holds it now.
    assignment.endpoints.forEach((endpoint, i) => {
        for (const { link: li } of endpoint.ends) {
            if (address[i] !== undefined) return;
            const kept = recordOf(recorded, links[li].name)?.ends.find((e) => e.site === endpoint.site);
            const value = a.parseIp(kept?.address);
            if (value !== undefined && assignment.hostsOf(endpoint.site, endpoint.node)!.take(value, endpoint.owner)) address[i] = value;
        }
    });
    const current = new Set(links.map((l) => l.name));
    const removed = Object.keys(recorded.links)
        .filter((name) => !current.has(name))
        .sort();
    for (const name of removed) {
        const record = recorded.links[name];
        const s = assignment.subnetIndexOf(record.tunnelSubnet);
        if (s !== undefined) subnets.take(s, name);
        ports.take(record.port, name);
        for (const end of record.ends) {
            const value = a.parseIp(end.address);
            if (value !== undefined) assignment.hostsHolding(end.site, value)?.take(value, name);
        }
    }
    return removed;
}

/** Step 3: the lowest free values for the rest, in the topology's order. */
function allocateFreeValues(assignment: Assignment, removed: string[], problems: Problems): void {
    const { topology, prefixLength, subnetSize, subnets, ports, subnet, port, address } = assignment;
    const held = removed.length === 1 ? "a removed link still holds its values" : `${removed.length} removed links still hold theirs`;
    const stale = removed.length > 0 ? ` (${held} until npm run allocate rewrites the file)` : "";
    assignment.links.forEach((link, li) => {
        const field = fieldPath(["links", li]);
        if (subnet[li] === undefined) {
            subnet[li] = subnets.next(link.name);
            if (subnet[li] === undefined) {
                problems.add(
                    fieldPath(["tunnel", "pool"]),
                    topology.tunnel.pool,
                    `no free /${prefixLength} left for link ${link.name}${stale}`,
                    `widen the pool (a /24 holds ${256 / subnetSize} links at /${prefixLength}) or use prefixLength 31`,
                );
            }
        }
        if (port[li] === undefined) {
            port[li] = ports.next(link.name);
            if (port[li] === undefined) {
                problems.add(`${field}.port`, undefined, `no free UDP port left above tunnel.port${stale}`, "lower tunnel.port");
            }
        }
    });
    assignment.endpoints.forEach((endpoint, i) => {
        if (address[i] !== undefined || endpoint.ends.length === 0) return;
        address[i] = assignment.hostsOf(endpoint.site, endpoint.node)!.next(endpoint.owner);
        if (address[i] === undefined) {
            problems.add(
                endpointField(endpoint, "address"),
                undefined,
                `no free address left in node ${endpoint.node}'s range ${a.formatCidr(assignment.nodeRanges[endpoint.site][endpoint.node])}${stale}`,
                `give the node a larger range or move the ${endpoint.named ? "endpoint" : "end"} to another node`,
            );
        }
    });
}

/** The links of one endpoint share its address, so each needs its own port there. */
function checkEndpointPorts(assignment: Assignment, problems: Problems): void {
    const { links, port } = assignment;
    for (const endpoint of assignment.endpoints.filter((e) => e.ends.length > 1)) {
        const holder = new Map<number, string>();
        for (const { link: li } of endpoint.ends) {
            const other = holder.get(port[li]!);
            if (other !== undefined) {
                problems.add(
                    fieldPath(["links", li, "port"]),
                    port[li],
                    `link ${other} has this port too, and both are links of endpoint ${endpoint.name}, whose links share its address`,
                    `give link ${links[li].name} another port, or leave its port out to have one allocated`,
                );
            } else if (port[li] !== undefined) holder.set(port[li]!, links[li].name);
        }
    }
}

/** Every link's values once all are assigned, what the file must say now, and how that differs from what it says. */
function addressingOf(assignment: Assignment, recorded: Allocations, removed: string[]): Addressing {
    const { links, pool, prefixLength, subnetSize, subnet, port, address } = assignment;
    const endAddress: number[][] = links.map(() => [0, 0]);
    assignment.endpoints.forEach((endpoint, i) => {
        for (const { link: li, end: ei } of endpoint.ends) endAddress[li][ei] = address[i]!;
    });
    const result: LinkAddressing[] = links.map((_, li) => ({
        tunnelSubnet: { network: pool.network + subnet[li]! * subnetSize, prefixLength, size: subnetSize },
        port: port[li]!,
        addresses: endAddress[li] as [number, number],
    }));
    const record: Allocations = { links: {} };
    links.forEach((link, li) => {
        record.links[link.name] = {
            tunnelSubnet: a.formatCidr(result[li].tunnelSubnet),
            port: result[li].port,
            ends: link.ends.map((end, ei) => ({
                site: end.site,
                ...(!assignment.standIns.has(`${end.site}/${end.node}`) && { node: end.node }),
                address: a.formatIp(result[li].addresses[ei]),
            })),
        };
    });
    const changes: AllocationChanges = { added: [], removed, changed: [], slots: [] };
    for (const link of links) {
        const before = recordOf(recorded, link.name);
        if (!before) changes.added.push(link.name);
        else if (!sameRecord(before, record.links[link.name])) changes.changed.push(link.name);
    }
    return { links: result, record, changes };
}

/**
 * Gives every link its tunnel subnet, port and end addresses. Precedence: values the topology
 * gives, then values the file records (while they still fit), then the lowest free ones. Values
 * recorded for links no longer in the topology stay reserved until the file is rewritten, so the
 * values given now do not depend on whether the file is current. `nodeRanges` are the parsed node
 * ranges by site and node; the ends' sites and nodes and the explicit addresses are already valid.
 */
export function assignAddressing(
    topology: PlacedTopology,
    pool: a.Cidr,
    nodeRanges: Record<string, Record<string, a.Cidr>>,
    recorded: Allocations,
    problems: Problems,
): Addressing {
    const assignment = new Assignment(topology, pool, nodeRanges);
    takeGivenValues(assignment, problems);
    const removed = keepRecordedValues(assignment, recorded);
    allocateFreeValues(assignment, removed, problems);
    checkEndpointPorts(assignment, problems);
    problems.throwIfAny();
    return addressingOf(assignment, recorded, removed);
}

/** One line that says how the file differs from what the topology needs, or undefined when it is current. */
export function describeChanges(changes: AllocationChanges): string | undefined {
    const parts: string[] = [];
    const list = (names: string[]) =>
        names.length > 5 ? `${names.slice(0, 5).join(", ")} and ${names.length - 5} more` : names.join(", ");
    if (changes.added.length > 0) parts.push(`new links ${list(changes.added)}`);
    if (changes.removed.length > 0) parts.push(`removed links ${list(changes.removed)}`);
    if (changes.changed.length > 0) parts.push(`changed links ${list(changes.changed)}`);
    if (changes.slots.length > 0) parts.push(`pool slots ${list(changes.slots)}`);
    return parts.length > 0 ? parts.join("; ") : undefined;
}
