// Placement: the topology with every site's nodes and every endpoint's node known. A site that
// lists its nodes is placed as written. A pool's nodes come from its cluster (the nodes its
// selector picks), each holding a slot of the bridge range (slots.ts); an endpoint on a pool lives
// in a slot and follows it: it is placed on the slot's node, whichever node that is now.
import * as a from "../addressing/addresses";
import type { Allocations } from "../addressing/allocations";
import { endpointField, topologyEndpoints, TopologyEndpoint } from "../addressing/endpoints";
import { Problems } from "../problems/errors";
import { fieldPath, PlacedNode, PlacedSite, PlacedTopology, PoolConfig, Topology } from "../topology/schema";
import { assignSlots, PoolNode, SiteSlots, slotCount, slotOf, slotRange } from "./slots";

/** The topology placed, and the slots of every pool as the allocations file should record them now. */
export interface Placement {
    topology: PlacedTopology;
    slots: Record<string, SiteSlots>;
}

/**
 * Places `topology`. `pools` are the nodes each pool site's selector picks in its cluster; without
 * them (before the clusters are read) a pool's nodes are the ones the allocations file records,
 * and an endpoint that none of them can take is placed on a stand-in node, so that the rest of the
 * configuration can be checked at once: the plan made then is provisional.
 */
export function placeTopology(
    topology: Topology,
    recorded: Allocations,
    pools: Record<string, PoolNode[]> | undefined,
    problems: Problems,
): Placement {
    const endpoints = topologyEndpoints(topology);
    const nodeOf = new Map<TopologyEndpoint, string>();
    const sites: Record<string, PlacedSite> = {};
    const slots: Record<string, SiteSlots> = {};
    for (const [name, site] of Object.entries(topology.sites)) {
        const here = endpoints.filter((e) => e.site === name);
        if (site.nodes) {
            sites[name] = { ...site, nodes: site.nodes };
            for (const endpoint of here) nodeOf.set(endpoint, endpointOnListedSite(endpoint, name, problems));
            continue;
        }
        const bridge = a.parseCidr(site.bridgeRange);
        if ("error" in bridge) {
            // The planner reports the range; the site's endpoints wait for a range to be placed in.
            sites[name] = { ...site, nodes: [] };
            for (const endpoint of here) nodeOf.set(endpoint, "");
            continue;
        }
        const pool = site.pool!;
        const slotOfAddress = (address: number) => {
            const slot = slotOf(bridge.cidr, pool.prefixLength, address);
            return slot !== undefined && slot <= slotCount(bridge.cidr, pool.prefixLength) ? slot : undefined;
        };
        // Only an endpoint that a link names is deployed, so only those are placed.
        const linked = here.filter((e) => e.ends.length > 0);
        const asked = new Map(linked.map((e) => [e, askedSlot(e, topology, recorded, slotOfAddress)]));
        const wanted = new Set([...asked.values()].flatMap((x) => (x?.slot === undefined ? [] : [x.slot])));
        const placement = new PoolPlacement(name, pool, bridge.cidr, recorded.sites?.[name]?.slots ?? {}, pools?.[name], wanted, problems);
        for (const endpoint of here) {
            const slot = asked.has(endpoint) ? placement.place(endpoint, asked.get(endpoint)) : undefined;
            nodeOf.set(endpoint, slot === undefined ? "" : placement.held.get(slot)!.name);
        }
        sites[name] = { ...site, nodes: placement.nodes() };
        slots[name] = placement.record();
    }
    return { topology: withNodes(topology, sites, endpoints, nodeOf), slots };
}

/** An endpoint on a site that lists its nodes names one of them (the planner checks which). */
function endpointOnListedSite(endpoint: TopologyEndpoint, site: string, problems: Problems): string {
    if (endpoint.node !== undefined) return endpoint.node;
    problems.add(
        endpointField(endpoint, "node"),
        undefined,
        `required: site ${site} lists its nodes, so each of its ${endpoint.named ? "endpoints" : "ends"} names the one it runs on`,
        `name one of sites.${site}.nodes, or give site ${site} a pool (pool: {selector: {...}}) to have its endpoints placed`,
    );
    return "";
}

/** The slot an endpoint of a pool asks for: its written address's, else the one the allocations file records for it. */
function askedSlot(
    endpoint: TopologyEndpoint,
    topology: Topology,
    recorded: Allocations,
    slotOfAddress: (address: number) => number | undefined,
): Asked | undefined {
    const written = a.parseIp(endpoint.address);
    if (written !== undefined) return { slot: slotOfAddress(written), written: true };
    for (const { link } of endpoint.ends) {
        const name = topology.links[link].name;
        const record = Object.hasOwn(recorded.links, name) ? recorded.links[name] : undefined;
        const kept = a.parseIp(record?.ends.find((e) => e.site === endpoint.site)?.address);
        const slot = kept === undefined ? undefined : slotOfAddress(kept);
        if (slot !== undefined) return { slot, written: false };
    }
    return undefined;
}

/** The slot an endpoint asks for, and whether its address is written in the topology (else it is recorded). */
interface Asked {
    slot: number | undefined;
    written: boolean;
}

/** One pool site: which node holds which slot, and where its endpoints go. */
class PoolPlacement {
    readonly held: Map<number, PoolNode>;
    /** Slots given to stand-in nodes in a provisional plan. */
    private readonly standIns = new Set<number>();
    private readonly count: number;
    private readonly provisional: boolean;

    constructor(
        private readonly site: string,
        private readonly pool: PoolConfig,
        private readonly bridge: a.Cidr,
        private readonly recorded: SiteSlots,
        found: PoolNode[] | undefined,
        wanted: Set<number>,
        private readonly problems: Problems,
    ) {
        this.count = slotCount(bridge, pool.prefixLength);
        this.provisional = found === undefined;
        const nodes =
            found ??
            Object.values(recorded).map((holder) => ({
                name: holder.node,
                instanceId: holder.instanceId,
                zone: holder.zone,
                schedulable: true,
            }));
        const assignment = assignSlots(recorded, nodes, wanted, this.count);
        this.held = assignment.slots;
        if (assignment.unplaced.length > 0) {
            problems.add(
                fieldPath(["sites", site, "pool"]),
                pool.selector,
                `${nodes.length} nodes carry these labels, but bridge range ${a.formatCidr(bridge)} has room for ${this.count} ` +
                    `slots of /${pool.prefixLength} (its first part is never handed out): ${assignment.unplaced.map((n) => n.name).join(", ")} would have none`,
                `widen sites.${site}.bridgeRange, give each node a smaller part (pool.prefixLength), or narrow the selector`,
            );
        }
    }

    /** The slot `endpoint` lives in, or undefined (and a problem) when no node of the pool can take it. */
    place(endpoint: TopologyEndpoint, asked: Asked | undefined): number | undefined {
        if (endpoint.node !== undefined) return this.onNode(endpoint, endpoint.node);
        if (asked?.slot !== undefined) return this.inSlot(endpoint, asked.slot);
        if (asked?.written) {
            this.problems.add(
                endpointField(endpoint, "address"),
                endpoint.address,
                `not in a slot of site ${this.site}'s pool: its slots are the /${this.pool.prefixLength}s of ${a.formatCidr(this.bridge)} ` +
                    `from the second on (the first is never handed out)`,
                `pick an address in ${this.rangeText(1)} or a later slot, or leave it out to have one allocated`,
            );
            return undefined;
        }
        const slot = [...this.held].filter(([, node]) => node.schedulable).sort(([x], [y]) => x - y)[0]?.[0];
        if (slot !== undefined) return slot;
        if (this.provisional) return this.standIn(this.lowestFree(), `${this.site}-pool-slot`);
        this.problems.add(
            fieldPath(["sites", this.site, "pool"]),
            this.pool.selector,
            `no node of site ${this.site}'s pool can take ${endpoint.owner}: ` +
                (this.held.size === 0
                    ? "no node carries these labels"
                    : "none of the nodes that carry these labels is ready and schedulable"),
            `label the nodes that may host endpoints (kubectl label node <node> ${this.labelsText()}), or wait until one is ready, and run pulumi up again`,
        );
        return undefined;
    }

    /** The slot of an endpoint pinned to `node`, which must be a node of the pool. */
    private onNode(endpoint: TopologyEndpoint, node: string): number | undefined {
        const slot = [...this.held].find(([, n]) => n.name === node)?.[0];
        if (slot !== undefined) return slot;
        if (this.provisional) return this.standIn(this.lowestFree(), node);
        const names = [...this.held.values()].map((n) => n.name);
        this.problems.add(
            endpointField(endpoint, "node"),
            node,
            `not a node of site ${this.site}'s pool (the nodes labelled ${this.labelsText()}: ${names.join(", ") || "none"})`,
            `label it (kubectl label node ${node} ${this.labelsText()}), pin the endpoint to one of the pool's nodes, or leave node out to have it placed`,
        );
        return undefined;
    }

    /** An endpoint that lives in `slot` (its address is there): on the slot's node, which must exist. */
    private inSlot(endpoint: TopologyEndpoint, slot: number): number | undefined {
        if (this.held.has(slot)) return slot;
        if (this.provisional) return this.standIn(slot, `${this.site}-pool-slot`);
        const holder = this.recorded[slot]?.node;
        this.problems.add(
            endpoint.address !== undefined ? endpointField(endpoint, "address") : fieldPath(["sites", this.site, "pool"]),
            endpoint.address ?? this.pool.selector,
            `${endpoint.owner} lives in slot ${slot} (${this.rangeText(slot)}) of site ${this.site}'s pool, which no node holds now` +
                (holder ? `: its node ${holder} is gone, and no new node has joined the pool to take its place` : ""),
            `wait for the new node to join (kubectl get nodes -l ${this.selectorText()}) and run pulumi up again, or add a node to the pool: kubectl label node <node> ${this.labelsText()}`,
        );
        return undefined;
    }

    /** A stand-in node for a plan made before the clusters are read. */
    private standIn(slot: number, name: string): number {
        this.held.set(slot, { name: name === `${this.site}-pool-slot` ? `${name}-${slot}` : name, schedulable: true });
        this.standIns.add(slot);
        return slot;
    }

    private lowestFree(): number {
        let slot = 1;
        while (this.held.has(slot)) slot++;
        return slot;
    }

    private rangeText(slot: number): string {
        const range = slotRange(this.bridge, this.pool.prefixLength, slot);
        return range ? a.formatCidr(range) : `slot ${slot}`;
    }

    private labelsText(): string {
        return Object.entries(this.pool.selector)
            .map(([key, value]) => `${key}=${value}`)
            .join(" ");
    }

    private selectorText(): string {
        return Object.entries(this.pool.selector)
            .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
            .join(",");
    }

    /** The pool's nodes as the planner takes them: each with its slot's range, in slot order. */
    nodes(): PlacedNode[] {
        return [...this.held]
            .sort(([x], [y]) => x - y)
            .map(([slot, node]) => ({
                name: node.name,
                range: this.rangeText(slot),
                ...(node.instanceId && { instanceId: node.instanceId }),
                ...(node.zone && { availabilityZone: node.zone }),
                slot,
                ...(this.standIns.has(slot) && { standIn: true }),
            }));
    }

    /** The slots as the allocations file records them: who holds each (a provisional plan adds nothing to the record). */
    record(): SiteSlots {
        if (this.provisional) return this.recorded;
        const slots: SiteSlots = {};
        for (const [slot, node] of [...this.held].sort(([x], [y]) => x - y)) {
            slots[slot] = {
                node: node.name,
                ...(node.instanceId && { instanceId: node.instanceId }),
                ...(node.zone && { zone: node.zone }),
            };
        }
        return slots;
    }
}

/** The topology with its sites placed and every endpoint's node set. */
function withNodes(
    topology: Topology,
    sites: Record<string, PlacedSite>,
    endpoints: TopologyEndpoint[],
    nodeOf: Map<TopologyEndpoint, string>,
): PlacedTopology {
    const named = new Map(endpoints.filter((e) => e.named).map((e) => [e.name, nodeOf.get(e) ?? ""]));
    const written = new Map(endpoints.filter((e) => !e.named).map((e) => [`${e.ends[0].link}/${e.ends[0].end}`, nodeOf.get(e) ?? ""]));
    return {
        ...topology,
        sites,
        endpoints: Object.fromEntries(Object.entries(topology.endpoints).map(([name, e]) => [name, { ...e, node: named.get(name) ?? "" }])),
        links: topology.links.map((link, li) => ({
            ...link,
            ends: link.ends.map((end, ei) => ({
                ...end,
                node: end.endpoint !== undefined ? (named.get(end.endpoint) ?? "") : (written.get(`${li}/${ei}`) ?? ""),
            })) as PlacedTopology["links"][number]["ends"],
        })),
    };
}
