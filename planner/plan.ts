// The plan: the checked topology with every address, route and package computed, as the
// components build from it. Pure: the local files and the allocations file come in as contents.
import * as a from "./addressing/addresses";
import { Addressing, Allocations, assignAddressing, parseAllocations } from "./addressing/allocations";
import { checkLinks, parsePool, planEndpoints, planLinks } from "./addressing/links";
import { checkRanges, ParsedRanges } from "./addressing/ranges";
import { checkAws, planAws } from "./aws/aws";
import { CNI_PLUGINS_OF } from "./files/binaries";
import { checkLocalFiles } from "./files/checkFiles";
import type { LocalFiles } from "./files/localFiles";
import { Problems, Unique } from "./problems/errors";
import { checkMtu, checkSites } from "./topology/checks";
import { placeTopology, Placement } from "./pools/placement";
import type { PoolNode } from "./pools/slots";
import type { PlacedTopology, Topology } from "./topology/schema";
import type { EndPlan, EndpointPlan, LinkPlan, Plan, SitePlan } from "./types";

/** The ends of every link that are in `site`. */
export function endsAt(plan: Plan, site: string): EndPlan[] {
    return plan.links.flatMap((link) => link.ends.filter((end) => end.site === site));
}

/** The endpoints in `site`. */
export function endpointsAt(plan: Plan, site: string): EndpointPlan[] {
    return plan.endpoints.filter((endpoint) => endpoint.site === site);
}

/** The other end of the link that `end` belongs to (ends are the plan's own objects). */
export function peerOf(plan: Plan, end: EndPlan): EndPlan {
    const link = linksByName(plan).get(end.link);
    if (!link) throw new Error(`no link named ${end.link}`);
    return link.ends[0] === end ? link.ends[1] : link.ends[0];
}

// One index per plan, so that looking up every end's peer stays linear in the number of links.
const linkIndex = new WeakMap<Plan, Map<string, LinkPlan>>();
function linksByName(plan: Plan): Map<string, LinkPlan> {
    let index = linkIndex.get(plan);
    if (!index) linkIndex.set(plan, (index = new Map(plan.links.map((l) => [l.name, l]))));
    return index;
}

/** The tunnel pool and the bridge ranges, parsed and checked: what every addressing starts from. */
function checkAddressing(topology: PlacedTopology, problems: Problems): { pool?: a.Cidr; ranges: ParsedRanges } {
    const pool = parsePool(topology, problems);
    return { pool, ranges: checkRanges(topology, problems, pool) };
}

/**
 * Checks the links and gives each its tunnel subnet, port and end addresses, keeping what the
 * allocations file records; throws every problem found until then, this step's and the caller's.
 */
function addressLinks(
    topology: PlacedTopology,
    { pool, ranges }: ReturnType<typeof checkAddressing>,
    recorded: Allocations,
    problems: Problems,
): Addressing {
    checkLinks(topology, ranges, pool, problems);
    problems.throwIfAny();
    return assignAddressing(topology, pool!, ranges.node, recorded, problems);
}

/**
 * The allocations file as it should be now, and how it differs: the pools' slots (from the
 * placement) and the links' values (from the addressing).
 */
function allocationsOf(placement: Placement, addressing: Addressing, recorded: Allocations): Pick<Addressing, "record" | "changes"> {
    const sites = Object.fromEntries(Object.entries(placement.slots).map(([site, slots]) => [site, { slots }]));
    const record: Allocations = { ...(Object.keys(sites).length > 0 && { sites }), links: addressing.record.links };
    return { record, changes: { ...addressing.changes, slots: slotChanges(recorded, placement.slots) } };
}

/** The slots whose node is not the one the file records: `ohio slot 1 (ip-a → ip-b)`. */
function slotChanges(recorded: Allocations, slots: Placement["slots"]): string[] {
    const changes: string[] = [];
    for (const [site, now] of Object.entries(slots)) {
        const before = recorded.sites?.[site]?.slots ?? {};
        for (const slot of [...new Set([...Object.keys(before), ...Object.keys(now)].map(Number))].sort((x, y) => x - y)) {
            const [was, is] = [before[slot]?.node, now[slot]?.node];
            if (was !== is || before[slot]?.instanceId !== now[slot]?.instanceId) {
                changes.push(`${site} slot ${slot} (${was ?? "free"} → ${is ?? "free"})`);
            }
        }
    }
    return changes;
}

/**
 * The addressing of every link (tunnel subnet, port, end addresses) and the pools' slots without
 * deploying anything: what `npm run allocate` records. Needs the topology, the allocations file's
 * text and, for the slots of a pool, the nodes its selector picks in its cluster (`pools`);
 * without them the pools stay as recorded.
 */
export function planAllocations(
    topology: Topology,
    allocationsText: string | undefined,
    pools?: Record<string, PoolNode[]>,
): Pick<Addressing, "record" | "changes"> {
    const problems = new Problems();
    const recorded = parseAllocations(allocationsText, topology, problems);
    const placement = placeTopology(topology, recorded, pools, problems);
    const addressing = addressLinks(placement.topology, checkAddressing(placement.topology, problems), recorded, problems);
    return allocationsOf(placement, addressing, recorded);
}

/**
 * Validates the topology against the local files and computes everything the deployment needs.
 * `pools` are the nodes each pool site's selector picks in its cluster; without them (before the
 * clusters are read) the plan is provisional: a pool's nodes are the ones the allocations file
 * records, enough to check the rest of the configuration at once. Throws one ConfigError listing
 * every problem (field, value, fix); registers no resource.
 */
export function planTopology(topology: Topology, files: LocalFiles, pools?: Record<string, PoolNode[]>): Plan {
    const problems = new Problems();
    const recorded = parseAllocations(files.allocations, topology, problems);
    const placement = placeTopology(topology, recorded, pools, problems);
    const placed = placement.topology;
    const checked = checkAddressing(placed, problems);
    checkSites(placed, problems);
    checkAws(placed, checked.ranges.site, problems);
    const { template, packages, cniPackages } = checkLocalFiles(placed, files, problems);
    checkMtu(placed, problems);
    const addressing = addressLinks(placed, checked, recorded, problems);

    const links = planLinks(placed, checked.ranges.node, addressing);
    const endpoints = planEndpoints(placed, links, problems);
    problems.throwIfAny();
    return {
        tunnel: placed.tunnel,
        binaries: { ...placed.binaries, packages, cniPackages },
        template,
        sites: planSites(placed, checked.ranges.node),
        links,
        endpoints,
        aws: planAws(placed, links),
        allocations: { path: files.allocationsPath, ...allocationsOf(placement, addressing, recorded) },
        provisional: Object.keys(topology.sites).filter((site) => topology.sites[site].pool !== undefined && !pools?.[site]),
    };
}

/** Each site's part of the plan: its nodes with their gateways, its sidecar image and CNI plugins. */
function planSites(topology: PlacedTopology, nodeRanges: ParsedRanges["node"]): Record<string, SitePlan> {
    const sites: Record<string, SitePlan> = {};
    for (const [name, config] of Object.entries(topology.sites)) {
        const nodes = config.nodes.map((n) => ({
            name: n.name,
            range: n.range,
            gateway: a.formatIp(a.gateway(nodeRanges[name][n.name])),
        }));
        sites[name] = {
            name,
            config,
            nodes,
            sidecarImage: config.sidecarImage ?? config.workload.image,
            cniBinDir: config.cniBinDir ?? (config.platform === "openshift" ? "/var/lib/cni/bin" : "/opt/cni/bin"),
            cniPlugins: [...CNI_PLUGINS_OF[config.attachment]],
        };
    }
    return sites;
}

/**
 * The sites a stack manages: `plumr:sites` when set, else the stack's own name. Unknown names
 * are a ConfigError.
 */
export function managedSites(plan: Plan, requested: string[] | undefined, stack: string): string[] {
    const names = requested ?? [stack];
    const problems = new Problems();
    const known = Object.keys(plan.sites);
    if (names.length === 0) problems.add("plumr:sites", names, "no site to manage", `name at least one of ${known.join(", ")}`);
    const listed = new Unique(problems, "site", "list each site once");
    names.forEach((name, i) => requested && listed.check(name, `plumr:sites[${i}]`));
    for (const name of names) {
        if (!Object.hasOwn(plan.sites, name)) {
            problems.add(
                "plumr:sites",
                requested ?? undefined,
                requested
                    ? `names ${name}, which is not a site of the topology`
                    : `not set, and the stack's name ${stack} is not a site of the topology`,
                `set it to the sites this stack deploys, e.g. pulumi config set --path 'plumr:sites[0]' ${known[0] ?? "ohio"} (known: ${known.join(", ")})`,
            );
        }
    }
    problems.throwIfAny();
    return names;
}
