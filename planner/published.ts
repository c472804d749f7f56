// What a stack publishes (its `sites` output): the contract between the stacks of linked sites. One
// definition, a schema: the program writes its outputs in this type, and a stack parses a peer's
// outputs with it instead of trusting whatever the peer's stack holds.
import { z } from "zod";
import { ConfigError, Problems } from "./problems/errors";
import { parseWithProblems } from "./problems/issues";
import type { AwsFacts, EndPlan, Plan } from "./types";

const ipv4 = z.ipv4().describe("an IPv4 address, e.g. 10.20.1.200");

/** What one end of a link publishes for the other end, and for people. */
export const endFactsSchema = z.object({
    site: z.string(),
    node: z.string(),
    /** Underlay address on the endpoint pod's net1. */
    address: ipv4,
    /** Address of the endpoint's tun device. */
    tunnelIp: ipv4,
    /** UDP port the endpoint's plumr listens on. */
    port: z.int().min(1).max(65535).describe("a UDP port, e.g. 5000"),
    /** The site's bridge range: where the peer routes and opens its firewall to. */
    range: z.string(),
    /** The endpoint under `endpoints` the end is, and its tun device there (an end written in a link has neither). */
    endpoint: z.string().optional(),
    device: z.string().optional(),
});
export type EndFacts = z.infer<typeof endFactsSchema>;

/** What a site publishes about its AWS side, for the stacks of its peers (see AwsFacts). */
export const awsFactsSchema = z.object({
    region: z.string(),
    accountId: z.string(),
    transitGatewayId: z.string(),
    peeringAttachments: z.record(z.string(), z.string()),
    acceptedPeerings: z.record(z.string(), z.string()),
}) satisfies z.ZodType<AwsFacts>;

/** Everything a stack publishes about one of its sites (`sites.<site>`). */
export const publishedSiteSchema = z.object({
    namespace: z.string(),
    platform: z.enum(["openshift", "kubernetes"]),
    bridgeRange: z.string(),
    nodes: z.array(z.object({ name: z.string(), range: z.string(), gateway: ipv4 })),
    nodeAgent: z.object({ daemonSet: z.string(), binariesSha256: z.string() }),
    /** Facts of every link end in the site, keyed by link name. */
    endpoints: z.record(z.string(), endFactsSchema),
    /** The site's AWS side, when the program routes it. */
    aws: awsFactsSchema.optional(),
});
export type PublishedSite = z.infer<typeof publishedSiteSchema>;

/**
 * What a stack reads of a peer's published site: the ends and the AWS side. Only these, so that a
 * peer deployed by an earlier version of the program, which published other fields, still reads.
 */
const peerSiteSchema = publishedSiteSchema.pick({ endpoints: true, aws: true }).partial({ endpoints: true });
export type PeerSite = z.infer<typeof peerSiteSchema>;

/** What an end publishes, from the plan: a peer stack that has not been deployed yet reads the same. */
export function endFacts(plan: Plan, end: EndPlan): EndFacts {
    const { site, node, address, tunnelIp, port, endpoint, device } = end;
    const facts: EndFacts = { site, node, address, tunnelIp, port, range: plan.sites[site].config.bridgeRange };
    return endpoint === undefined ? facts : { ...facts, endpoint, device };
}

/**
 * The site `site` as stack `stack` publishes it in `sites` (its `sites` output); undefined when it
 * publishes none yet. Anything else than the contract fails with the output's field, what is
 * there, and the fix: deploy that stack with this version first.
 */
export function readPeerSite(sites: unknown, site: string, stack: string): PeerSite | undefined {
    const raw = sites !== null && typeof sites === "object" ? (sites as Record<string, unknown>)[site] : undefined;
    if (raw === undefined || raw === null) return undefined;
    const problems = new Problems();
    const parsed = parseWithProblems(peerSiteSchema, { root: `stack ${stack}: output sites.${site}`, raw }, problems);
    if (parsed) return parsed;
    throw new ConfigError(
        problems.list.map((problem) => ({
            ...problem,
            fix: `run pulumi up on stack ${stack} with this version of the program, which publishes its ends as this one reads them, then on this stack again`,
        })),
    );
}
