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

/**
 * The version of the contract: what this program publishes, and the newest it reads. It changes
 * only when a field's meaning changes or a field the readers need goes; a field added for new
 * readers leaves it as it is. Stacks published before versions existed read as version 0.
 */
export const CONTRACT_VERSION = 1;

/** The contracts a program reads: the one it publishes, the newest it reads, and the oldest. */
export interface ContractRange {
    version: number;
    oldestRead: number;
}

/** This program's: it reads version 0 too, since version 1 publishes what version 0 did, and more. */
export const CONTRACT: ContractRange = { version: CONTRACT_VERSION, oldestRead: 0 };

/** Everything a stack publishes about one of its sites (`sites.<site>`). */
export const publishedSiteSchema = z.object({
    /** The version of the program that published it (package.json's). */
    programVersion: z.string(),
    /** The version of this contract it was published in (CONTRACT_VERSION). */
    contractVersion: z.int().min(1),
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
 * What a stack reads of a peer's published site: the ends and the AWS side, and the versions it was
 * published with. Only these, so that a peer deployed by an earlier version of the program, which
 * published other fields, still reads.
 */
const peerSiteSchema = publishedSiteSchema
    .pick({ endpoints: true, aws: true, programVersion: true, contractVersion: true })
    .partial({ endpoints: true, programVersion: true, contractVersion: true });
export type PeerSite = z.infer<typeof peerSiteSchema>;

/** The stack that reads a peer's outputs: its name and its program's version. */
export interface Reader {
    stack: string;
    programVersion: string;
}

/** A peer's published site, and what to say about its version, when there is something to say. */
export interface ReadPeer {
    site: PeerSite;
    /** The peer publishes an older contract, which this program still reads: which stack to upgrade. */
    warning?: string;
}

/** What an end publishes, from the plan: a peer stack that has not been deployed yet reads the same. */
export function endFacts(plan: Plan, end: EndPlan): EndFacts {
    const { site, node, address, tunnelIp, port, endpoint, device } = end;
    const facts: EndFacts = { site, node, address, tunnelIp, port, range: plan.sites[site].config.bridgeRange };
    return endpoint === undefined ? facts : { ...facts, endpoint, device };
}

/** The contract's and the program's versions, as a message names them. */
function versions(contract: number, program: unknown): string {
    const by = typeof program === "string" ? `program ${program}` : "a program from before contract versions";
    return `contract version ${contract} (${by})`;
}

/**
 * Which stack to upgrade first when `raw`, published by stack `stack`, is in a contract other than
 * this program's: an error for one it cannot read (newer than it knows, or older than it reads:
 * the ends' addresses could be misread, and a link built from them would not come up), a warning
 * for an older one it still reads (nothing breaks today, but the next contract may not read it).
 */
function checkContract(
    raw: Record<string, unknown>,
    site: string,
    stack: string,
    reader: Reader,
    contract: ContractRange,
): string | undefined {
    const field = `stack ${stack}: output sites.${site}.contractVersion`;
    const published = raw.contractVersion ?? 0;
    const ours = `this stack (${reader.stack}) runs ${versions(contract.version, reader.programVersion)}`;
    if (typeof published !== "number" || !Number.isInteger(published) || published < 0) {
        throw new ConfigError([
            {
                field,
                value: published,
                message: "not a contract version",
                fix: `run pulumi up on stack ${stack} with this version of the program (${reader.programVersion}), then on this stack again`,
            },
        ]);
    }
    const theirs = `stack ${stack} publishes ${versions(published, raw.programVersion)}`;
    if (published > contract.version) {
        throw new ConfigError([
            {
                field,
                value: published,
                message: `${theirs}, newer than ${ours} reads`,
                fix:
                    `upgrade this stack first: run pulumi up on stack ${reader.stack} with program ` +
                    `${typeof raw.programVersion === "string" ? raw.programVersion : `of stack ${stack}`} or newer, which reads contract version ${published}`,
            },
        ]);
    }
    if (published < contract.oldestRead) {
        throw new ConfigError([
            {
                field,
                value: published,
                message: `${theirs}, older than the oldest ${ours} reads (contract version ${contract.oldestRead})`,
                fix: `upgrade stack ${stack} first: run pulumi up on it with program ${reader.programVersion}, then on this stack again`,
            },
        ]);
    }
    if (published < contract.version) {
        return (
            `${theirs}, older than ${ours}; this stack still reads it. Upgrade stack ${stack} next: run pulumi up on it ` +
            `with program ${reader.programVersion} or newer, before a later program stops reading contract version ${published}`
        );
    }
    return undefined;
}

/**
 * The site `site` as stack `stack` publishes it in `sites` (its `sites` output), read by `reader`;
 * undefined when it publishes none yet. A contract this program cannot read fails, naming which
 * stack to upgrade first and both versions; an older one it reads gives a warning that says the
 * same. Anything else than the contract fails with the output's field, what is there, and the fix:
 * deploy that stack with this version first. `contract`: the contracts the reader reads.
 */
export function readPeerSite(
    sites: unknown,
    site: string,
    stack: string,
    reader: Reader,
    contract: ContractRange = CONTRACT,
): ReadPeer | undefined {
    const raw = sites !== null && typeof sites === "object" ? (sites as Record<string, unknown>)[site] : undefined;
    if (raw === undefined || raw === null) return undefined;
    const warning = typeof raw === "object" ? checkContract(raw as Record<string, unknown>, site, stack, reader, contract) : undefined;
    const problems = new Problems();
    const parsed = parseWithProblems(peerSiteSchema, { root: `stack ${stack}: output sites.${site}`, raw }, problems);
    if (parsed) return { site: parsed, ...(warning && { warning }) };
    throw new ConfigError(
        problems.list.map((problem) => ({
            ...problem,
            fix: `run pulumi up on stack ${stack} with this version of the program, which publishes its ends as this one reads them, then on this stack again`,
        })),
    );
}
