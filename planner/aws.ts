import * as a from "./addresses";
import { Problems } from "./errors";
import type { Plan } from "./plan";
import { fieldPath, Topology } from "./topology";

/** A site this one links to, as its AWS routing sees it. */
export interface AwsPeerPlan {
    site: string;
    /** The peer's bridge range: routed to the Transit Gateway, and allowed ICMP in the security groups. */
    range: string;
    /** The links between the two sites: each opens its port to its peer end's address only. */
    links: { link: string; port: number; peerAddress: string }[];
    /**
     * This site's side of the Transit Gateway peering: the site whose name sorts first requests it,
     * the other accepts. Undefined when the peer's routing is not `transitGateway`.
     */
    peering?: "requester" | "accepter";
}

/** What the program changes in one site's AWS account. */
export interface AwsSitePlan {
    site: string;
    region: string;
    vpcId: string;
    routeTableIds: string[];
    subnetIds: string[];
    securityGroupIds: string[];
    asn: number;
    /** An existing Transit Gateway to use; the program creates one when this is undefined. */
    existingTransitGatewayId?: string;
    bridgeRange: string;
    /** Every node with an instance id: its range is routed to its primary ENI. */
    nodeRoutes: { node: string; range: string; instanceId: string }[];
    /** Instances that host endpoints: their ENI forwards the bridge range, so source/dest check is off. */
    forwardingInstances: { node: string; instanceId: string }[];
    peers: AwsPeerPlan[];
}

const ID_PATTERNS = {
    vpcId: /^vpc-[0-9a-f]{8,17}$/,
    routeTableIds: /^rtb-[0-9a-f]{8,17}$/,
    subnetIds: /^subnet-[0-9a-f]{8,17}$/,
    securityGroupIds: /^sg-[0-9a-f]{8,17}$/,
    instanceId: /^i-[0-9a-f]{8,17}$/,
    transitGatewayId: /^tgw-[0-9a-f]{8,17}$/,
} as const;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

/** Validates every AWS block; `siteRanges` are the parsed bridge ranges (absent when malformed). */
export function checkAws(topology: Topology, siteRanges: Record<string, a.Cidr>, problems: Problems): void {
    const hosts = new Set(topology.links.flatMap((l) => l.ends.map((e) => `${e.site}/${e.node}`)));
    for (const [siteName, site] of Object.entries(topology.sites)) {
        const aws = site.aws;
        if (!aws) continue;
        const field = (...path: (string | number)[]) => fieldPath(["sites", siteName, "aws", ...path]);
        if (!REGION.test(aws.region)) {
            problems.add(field("region"), aws.region, "not an AWS region name", "use a region code such as us-east-2 or ap-south-1");
        }
        if (aws.routing === "vpcPeering") {
            problems.add(
                field("routing"),
                aws.routing,
                "VPC peering only forwards addresses inside the peer VPC's CIDR blocks, and the bridge ranges are not VPC addresses",
                "use routing: transitGateway (Transit Gateways route any CIDR you give them), or none if the ranges are routed elsewhere",
            );
        }
        if (aws.routing !== "transitGateway") continue;

        const checkId = (key: keyof typeof ID_PATTERNS, value: string | undefined, path: (string | number)[], example: string) => {
            if (value === undefined || !ID_PATTERNS[key].test(value)) {
                problems.add(
                    fieldPath(["sites", siteName, ...path]),
                    value,
                    value === undefined ? "required with routing: transitGateway" : `not a well-formed id`,
                    `write the AWS id, e.g. ${example}`,
                );
            }
        };
        checkId("vpcId", aws.vpcId, ["aws", "vpcId"], "vpc-0a1b2c3d4e5f60718");
        for (const [key, example] of [
            ["routeTableIds", "rtb-0a1b2c3d4e5f60718"],
            ["subnetIds", "subnet-0a1b2c3d4e5f60718"],
        ] as const) {
            if (aws[key].length === 0)
                problems.add(field(key), aws[key], "empty; routing: transitGateway needs at least one", `list them, e.g. [${example}]`);
            aws[key].forEach((id, i) => checkId(key, id, ["aws", key, i], example));
        }
        if (aws.transitGatewayId !== undefined)
            checkId("transitGatewayId", aws.transitGatewayId, ["aws", "transitGatewayId"], "tgw-0a1b2c3d4e5f60718");
        aws.securityGroupIds.forEach((id, i) => checkId("securityGroupIds", id, ["aws", "securityGroupIds", i], "sg-0a1b2c3d4e5f60718"));
        site.nodes.forEach((node, i) => {
            if (node.instanceId !== undefined || hosts.has(`${siteName}/${node.name}`)) {
                checkId("instanceId", node.instanceId, ["nodes", i, "instanceId"], "i-0a1b2c3d4e5f60718");
            }
        });

        const vpcCidr = a.parseCidr(aws.vpcCidr);
        if ("error" in vpcCidr) {
            problems.add(
                field("vpcCidr"),
                aws.vpcCidr,
                aws.vpcCidr === undefined ? "required with routing: transitGateway" : vpcCidr.error,
                "write the VPC's CIDR block, e.g. 10.0.0.0/16",
            );
            continue;
        }
        for (const [other, range] of Object.entries(siteRanges)) {
            if (a.overlaps(range, vpcCidr.cidr)) {
                problems.add(
                    fieldPath(["sites", other, "bridgeRange"]),
                    topology.sites[other].bridgeRange,
                    `overlaps site ${siteName}'s VPC CIDR ${aws.vpcCidr}: the VPC would route it locally instead of to the nodes`,
                    "take the bridge ranges from addresses outside every linked VPC",
                );
            }
        }
    }
}

/** The AWS changes of every site whose routing is `transitGateway`, keyed by site. */
export function planAws(plan: Plan): Record<string, AwsSitePlan> {
    const result: Record<string, AwsSitePlan> = {};
    const routed = (site: string) => plan.sites[site].config.aws?.routing === "transitGateway";
    for (const [name, site] of Object.entries(plan.sites)) {
        const aws = site.config.aws;
        if (!aws || !routed(name)) continue;
        const ends = plan.links.flatMap((l) =>
            l.ends.filter((e) => e.site === name).map((end) => ({ end, peer: l.ends.find((e) => e !== end)! })),
        );
        const peers = new Map<string, AwsPeerPlan>();
        for (const { end, peer } of ends) {
            const entry = peers.get(peer.site) ?? {
                site: peer.site,
                range: plan.sites[peer.site].config.bridgeRange,
                links: [],
                peering: routed(peer.site) ? (name < peer.site ? "requester" : "accepter") : undefined,
            };
            entry.links.push({ link: end.link, port: end.port, peerAddress: peer.address });
            peers.set(peer.site, entry);
        }
        const instance = (node: string) => site.config.nodes.find((n) => n.name === node)?.instanceId;
        const hosting = [...new Set(ends.map(({ end }) => end.node))];
        result[name] = {
            site: name,
            region: aws.region,
            vpcId: aws.vpcId!,
            routeTableIds: aws.routeTableIds,
            subnetIds: aws.subnetIds,
            securityGroupIds: aws.securityGroupIds,
            asn: aws.transitGatewayAsn,
            existingTransitGatewayId: aws.transitGatewayId,
            bridgeRange: site.config.bridgeRange,
            nodeRoutes: site.config.nodes
                .filter((n) => n.instanceId)
                .map((n) => ({ node: n.name, range: n.range, instanceId: n.instanceId! })),
            forwardingInstances: hosting.map((node) => ({ node, instanceId: instance(node)! })),
            peers: [...peers.values()].sort((x, y) => x.site.localeCompare(y.site)),
        };
    }
    return result;
}
