// Endpoints: the workloads the links join. An endpoint named under `endpoints` is one pod with one
// underlay address and a tunnel per link that names it; each end written in a link is an endpoint of
// its own, named after the link, with the objects such an end always had.
import { createHash } from "crypto";
import { fieldPath, PlacedTopology, Topology } from "../topology/schema";

/** One endpoint of the topology, as the planner addresses it. */
export interface TopologyEndpoint {
    /** Name of its objects (`plumr-<name>`): the endpoint's name, or the link's for an end written in the link. */
    name: string;
    /** Whether it is named under `endpoints`, rather than an end written in a link. */
    named: boolean;
    site: string;
    /** The node it is pinned to; absent for one placed in its site's pool. */
    node?: string;
    /** The address the topology gives it, if any. */
    address?: string;
    /** Where it is defined, as the user writes the path: `endpoints.hub` or `links[0].ends[1]`. */
    field: (string | number)[];
    /** Who holds an address, for messages: `endpoint hub`, or `ohio-mumbai.ends[0]`. */
    owner: string;
    /** Its link ends: index of the link, and of the end in it; in the topology's order of links. */
    ends: { link: number; end: number }[];
}

/** An endpoint of a placed topology: its node is known. */
export type PlacedEndpoint = TopologyEndpoint & { node: string };

/**
 * Every endpoint of the topology: first those named under `endpoints`, in their order there, then
 * the ends written in links, in the order of links and ends. A named endpoint no link names has no ends.
 */
export function topologyEndpoints(topology: PlacedTopology): PlacedEndpoint[];
export function topologyEndpoints(topology: Topology): TopologyEndpoint[];
export function topologyEndpoints(topology: Topology): TopologyEndpoint[] {
    const named = new Map<string, TopologyEndpoint>();
    for (const [name, endpoint] of Object.entries(topology.endpoints)) {
        named.set(name, {
            name,
            named: true,
            site: endpoint.site,
            node: endpoint.node,
            address: endpoint.address,
            field: ["endpoints", name],
            owner: `endpoint ${name}`,
            ends: [],
        });
    }
    const written: TopologyEndpoint[] = [];
    topology.links.forEach((link, li) => {
        link.ends.forEach((end, ei) => {
            if (end.endpoint !== undefined) {
                named.get(end.endpoint)?.ends.push({ link: li, end: ei });
                return;
            }
            written.push({
                name: link.name,
                named: false,
                site: end.site,
                node: end.node,
                address: end.address,
                field: ["links", li, "ends", ei],
                owner: `${link.name}.ends[${ei}]`,
                ends: [{ link: li, end: ei }],
            });
        });
    });
    return [...named.values(), ...written];
}

/** Renders where an endpoint is defined, plus a key under it: `plumr:topology.endpoints.hub.address`. */
export const endpointField = (endpoint: TopologyEndpoint, ...key: string[]): string => fieldPath([...endpoint.field, ...key]);

/** Linux's limit for interface names. */
const IFNAMSIZ = 15;

/**
 * The tun device of a named endpoint's link to `peer` (the peer endpoint's name): `tun-<peer>`, or,
 * when that is longer than Linux allows, its start and a hash of the whole name. It depends on the
 * peer alone, so adding or removing another link never renames it, and it never clashes with the
 * pod's lo, eth0 and net1.
 */
export function tunDevice(peer: string): string {
    const device = `tun-${peer}`;
    if (device.length <= IFNAMSIZ) return device;
    const hash = createHash("sha256").update(peer).digest("hex").slice(0, 5);
    return `tun-${peer.slice(0, IFNAMSIZ - 10).replace(/-+$/, "")}-${hash}`;
}
