// Slots: the parts of a pool site's bridge range, one per node of the pool while the node exists.
// A node keeps its slot for as long as it is in the cluster; a node that replaces one that is gone
// takes the freed slot of an endpoint (so the endpoint keeps its address, and the peers never see a
// change); any other new node takes the lowest free slot. Pure: the cluster's nodes and the slots
// the allocations file records come in as arguments.
import * as a from "../addressing/addresses";
import { ClusterNode, parseProviderId } from "../cluster/facts";

/** A node of a site's pool, as its cluster reports it. */
export interface PoolNode {
    name: string;
    /** The EC2 instance its `spec.providerID` names, where it names one. */
    instanceId?: string;
    /** Its availability zone: the `topology.kubernetes.io/zone` label, else its `spec.providerID`'s. */
    zone?: string;
    /** Ready, and not cordoned: a node that can take an endpoint now. */
    schedulable: boolean;
}

/** Who holds a slot, as the allocations file records it. */
export interface SlotHolder {
    node: string;
    instanceId?: string;
    zone?: string;
}

/** The slots of one pool site, by number. */
export type SiteSlots = Record<number, SlotHolder>;

const ZONE_LABELS = ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"];

/** Whether a node carries every label of `selector`, with its value (a matchLabels selector). */
export function matchesSelector(node: ClusterNode, selector: Record<string, string>): boolean {
    return Object.entries(selector).every(([key, value]) => node.labels?.[key] === value);
}

/** The nodes of `cluster` that `selector` picks, as a pool sees them, sorted by name. */
export function poolNodes(cluster: ClusterNode[], selector: Record<string, string>): PoolNode[] {
    return cluster
        .filter((node) => matchesSelector(node, selector))
        .map((node): PoolNode => {
            const said = parseProviderId(node.providerId);
            const zone = ZONE_LABELS.map((key) => node.labels?.[key]).find(Boolean) ?? said.zone;
            return {
                name: node.name,
                ...(said.instanceId && { instanceId: said.instanceId }),
                ...(zone && { zone }),
                schedulable: node.ready !== false && !node.unschedulable,
            };
        })
        .sort((x, y) => byName(x.name, y.name));
}

/** The nodes each pool site's selector picks among its cluster's nodes (`clusters`, by site; a site whose cluster was not read is left out). */
export function poolsOf(
    topology: { sites: Record<string, { pool?: { selector: Record<string, string> } }> },
    clusters: Record<string, ClusterNode[]>,
) {
    const pools: Record<string, PoolNode[]> = {};
    for (const [site, config] of Object.entries(topology.sites)) {
        if (config.pool && clusters[site]) pools[site] = poolNodes(clusters[site], config.pool.selector);
    }
    return pools;
}

const byName = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/**
 * The range of slot `slot` of a pool: the `slot`-th part of `prefixLength` of the bridge range.
 * Part 0 is never handed out, so that slot n of a /16 cut into /24s is x.y.n.0/24, as the
 * original demo numbered its workers.
 */
export function slotRange(bridgeRange: a.Cidr, prefixLength: number, slot: number): a.Cidr | undefined {
    return slot >= 1 ? a.nthSubnet(bridgeRange, prefixLength, slot) : undefined;
}

/** The slot whose range holds `address`, or undefined when it is in part 0 or outside the bridge range. */
export function slotOf(bridgeRange: a.Cidr, prefixLength: number, address: number): number | undefined {
    if (!a.contains(bridgeRange, address) || prefixLength < bridgeRange.prefixLength) return undefined;
    const slot = Math.floor((address - bridgeRange.network) / 2 ** (32 - prefixLength));
    return slot >= 1 ? slot : undefined;
}

/** How many slots a pool has: its bridge range's parts, less part 0. */
export function slotCount(bridgeRange: a.Cidr, prefixLength: number): number {
    return Math.max(0, a.subnetCount(bridgeRange, prefixLength) - 1);
}

/** What the slots of one pool are now, and how that differs from the record. */
export interface SlotAssignment {
    /** Every held slot and its node, by number. */
    slots: Map<number, PoolNode>;
    /** Nodes of the pool left without a slot: the bridge range is full. */
    unplaced: PoolNode[];
    /** Slots whose node is gone and that no new node took. */
    freed: number[];
}

/**
 * Gives every node of a pool a slot. A node the record names keeps its slot. Of the slots whose
 * node is gone, those in `wanted` (they host endpoints) go first to the new nodes: a schedulable
 * node before one that is not, then one in the zone of the node it replaces, then by name; every
 * other new node takes the lowest free slot, in name order. `count` is how many slots the range
 * has (1 to count).
 */
export function assignSlots(recorded: SiteSlots, nodes: PoolNode[], wanted: Set<number>, count: number): SlotAssignment {
    const slots = new Map<number, PoolNode>();
    const byNodeName = new Map(nodes.map((node) => [node.name, node]));
    const gone: number[] = [];
    for (const [key, holder] of Object.entries(recorded).sort(([x], [y]) => Number(x) - Number(y))) {
        const slot = Number(key);
        const node = byNodeName.get(holder.node);
        if (node && slot >= 1 && slot <= count) {
            slots.set(slot, node);
            byNodeName.delete(holder.node);
        } else gone.push(slot);
    }
    const fresh = [...byNodeName.values()];
    for (const slot of gone.filter((s) => wanted.has(s) && s >= 1 && s <= count)) {
        const zone = recorded[slot]?.zone;
        const rank = (node: PoolNode) => [node.schedulable ? 0 : 1, zone !== undefined && node.zone === zone ? 0 : 1];
        const successor = [...fresh].sort((x, y) => {
            const [rx, ry] = [rank(x), rank(y)];
            return rx[0] - ry[0] || rx[1] - ry[1] || byName(x.name, y.name);
        })[0];
        if (!successor) break;
        slots.set(slot, successor);
        fresh.splice(fresh.indexOf(successor), 1);
    }
    const unplaced: PoolNode[] = [];
    let next = 1;
    for (const node of fresh) {
        while (slots.has(next)) next++;
        if (next > count) unplaced.push(node);
        else slots.set(next, node);
    }
    return { slots, unplaced, freed: gone.filter((slot) => !slots.has(slot)) };
}
