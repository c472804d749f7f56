import * as a from "../addressing/addresses";
import { Problems, Unique } from "../problems/errors";
import { fieldPath, PlacedSite, PlacedTopology } from "../topology/schema";
import type { AwsFacts, AwsPeerPlan, AwsPeeringPlan, AwsPeeringStep, AwsPlan, AwsSitePlan, LinkPlan } from "../types";

const ID_PATTERNS = {
    vpcId: /^vpc-[0-9a-f]{8,17}$/,
    routeTableId: /^rtb-[0-9a-f]{8,17}$/,
    subnetId: /^subnet-[0-9a-f]{8,17}$/,
    securityGroupId: /^sg-[0-9a-f]{8,17}$/,
    instanceId: /^i-[0-9a-f]{8,17}$/,
    transitGatewayId: /^tgw-[0-9a-f]{8,17}$/,
} as const;

const ID_EXAMPLES: Record<keyof typeof ID_PATTERNS, string> = {
    vpcId: "vpc-0a1b2c3d4e5f60718",
    routeTableId: "rtb-0a1b2c3d4e5f60718",
    subnetId: "subnet-0a1b2c3d4e5f60718",
    securityGroupId: "sg-0a1b2c3d4e5f60718",
    instanceId: "i-0a1b2c3d4e5f60718",
    transitGatewayId: "tgw-0a1b2c3d4e5f60718",
};

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

/** Whether `zone` is an availability zone (or Local Zone) of `region`: us-east-2a, us-west-2-lax-1a. */
function inRegion(zone: string, region: string): boolean {
    return zone.startsWith(region) && /^(-[a-z]+-\d+)?[a-z]$/.test(zone.slice(region.length));
}

/** The sites and nodes that host a link end: `<site>/<node>`. */
function endpointNodes(topology: PlacedTopology): Set<string> {
    return new Set(topology.links.flatMap((l) => l.ends.map((e) => `${e.site}/${e.node}`)));
}

/** A site's aws block. */
type AwsConfig = NonNullable<PlacedSite["aws"]>;

/** Where a setting of site `siteName` is, as the user writes the path. */
const siteField = (siteName: string, ...path: (string | number)[]) => fieldPath(["sites", siteName, ...path]);

/** Each peering's resources are named <requester>-<accepter>: sites a-b and c, and a and b-c, would share them. */
function checkPeeringNames(topology: PlacedTopology, problems: Problems): void {
    const routed = (site: string) => topology.sites[site]?.aws?.routing === "transitGateway";
    const pairs = new Map<string, string>();
    topology.links.forEach((link, li) => {
        const [x, y] = link.ends.map((e) => e.site).sort(byName);
        if (x === y || !routed(x) || !routed(y)) return;
        const name = `${x}-${y}`;
        const pair = pairs.get(name);
        if (pair === undefined) pairs.set(name, `${x}/${y}`);
        else if (pair !== `${x}/${y}`) {
            problems.add(
                fieldPath(["links", li, "ends"]),
                link.ends.map((e) => e.site),
                `the peering of sites ${x} and ${y} would be named ${name}, like the peering of sites ${pair.replace("/", " and ")}`,
                "rename one of these sites so that no two site names joined by '-' give the same name",
            );
        }
    });
}

/** Ids AWS gives once, across all sites: an instance is one node, a Transit Gateway cannot peer with itself. */
function checkUniqueIds(topology: PlacedTopology, problems: Problems): void {
    const instances = new Unique(problems, "instance id", "give each node its own instance's id (the node's spec.providerID ends with it)");
    const gateways = new Unique(
        problems,
        "Transit Gateway",
        "give each site its own Transit Gateway (leave transitGatewayId out to have one created): a gateway cannot peer with itself",
    );
    for (const [siteName, site] of Object.entries(topology.sites)) {
        site.nodes.forEach((node, i) => instances.check(node.instanceId, siteField(siteName, "nodes", i, "instanceId")));
        if (site.aws?.routing === "transitGateway") {
            gateways.check(site.aws.transitGatewayId, siteField(siteName, "aws", "transitGatewayId"));
        }
    }
}

function checkRegion(siteName: string, aws: AwsConfig, problems: Problems): void {
    if (!REGION.test(aws.region)) {
        problems.add(
            siteField(siteName, "aws", "region"),
            aws.region,
            "not an AWS region name",
            "use a region code such as us-east-2 or ap-south-1",
        );
    }
}

function checkRouting(siteName: string, aws: AwsConfig, problems: Problems): void {
    if (aws.routing === "vpcPeering") {
        problems.add(
            siteField(siteName, "aws", "routing"),
            aws.routing,
            "VPC peering only forwards addresses inside the peer VPC's CIDR blocks, and the bridge ranges are not VPC addresses",
            "use routing: transitGateway (Transit Gateways route any CIDR you give them), or none if the ranges are routed elsewhere",
        );
    }
}

/** An id that routing: transitGateway needs, in the form AWS writes it. */
function checkId(key: keyof typeof ID_PATTERNS, value: string | undefined, field: string, problems: Problems): void {
    if (value === undefined || !ID_PATTERNS[key].test(value)) {
        problems.add(
            field,
            value,
            value === undefined ? "required with routing: transitGateway" : `not a well-formed id`,
            `write the AWS id, e.g. ${ID_EXAMPLES[key]}`,
        );
    }
}

/** A zone of the site's region; not checked when the region is malformed, which is reported already. */
function checkZone(value: string, region: string, field: string, problems: Problems): void {
    if (REGION.test(region) && !inRegion(value, region)) {
        problems.add(field, value, `not an availability zone of ${region}`, `write the zone as AWS names it, e.g. ${region}a`);
    }
}

function checkRouteTables(siteName: string, aws: AwsConfig, problems: Problems): void {
    if (aws.routeTableIds.length === 0) {
        problems.add(
            siteField(siteName, "aws", "routeTableIds"),
            aws.routeTableIds,
            "empty; routing: transitGateway needs at least one",
            `list the route tables of the nodes' subnets, e.g. [${ID_EXAMPLES.routeTableId}]`,
        );
    }
    const tables = new Unique(problems, "route table", "list each route table once");
    aws.routeTableIds.forEach((id, i) => {
        checkId("routeTableId", id, siteField(siteName, "aws", "routeTableIds", i), problems);
        tables.check(id, siteField(siteName, "aws", "routeTableIds", i));
    });
}

function checkSecurityGroups(siteName: string, aws: AwsConfig, problems: Problems): void {
    const groups = new Unique(problems, "security group", "list each security group once");
    aws.securityGroupIds.forEach((id, i) => {
        checkId("securityGroupId", id, siteField(siteName, "aws", "securityGroupIds", i), problems);
        groups.check(id, siteField(siteName, "aws", "securityGroupIds", i));
    });
}

/** The subnets of the Transit Gateway's VPC attachment; returns the first of them in each zone, by zone. */
function checkAttachmentSubnets(siteName: string, aws: AwsConfig, problems: Problems): Map<string, number> {
    if (aws.attachmentSubnets.length === 0) {
        problems.add(
            siteField(siteName, "aws", "attachmentSubnets"),
            aws.attachmentSubnets,
            "empty; routing: transitGateway needs a subnet for the Transit Gateway's VPC attachment in every zone with endpoint nodes",
            `list them, e.g. [{subnetId: ${ID_EXAMPLES.subnetId}, availabilityZone: ${aws.region}a, routeTableId: ${ID_EXAMPLES.routeTableId}}]`,
        );
    }
    const subnetZones = new Map<string, number>();
    const subnets = new Unique(problems, "subnet", "list each subnet once");
    aws.attachmentSubnets.forEach((subnet, i) => {
        const field = (...path: string[]) => siteField(siteName, "aws", "attachmentSubnets", i, ...path);
        checkId("subnetId", subnet.subnetId, field("subnetId"), problems);
        subnets.check(subnet.subnetId, field("subnetId"));
        checkId("routeTableId", subnet.routeTableId, field("routeTableId"), problems);
        checkZone(subnet.availabilityZone, aws.region, field("availabilityZone"), problems);
        const first = subnetZones.get(subnet.availabilityZone);
        if (first !== undefined) {
            problems.add(
                field("availabilityZone"),
                subnet.availabilityZone,
                `attachmentSubnets[${first}] is in this zone too: a Transit Gateway attachment takes one subnet per availability zone`,
                "keep one subnet per zone",
            );
        } else {
            subnetZones.set(subnet.availabilityZone, i);
        }
    });
    return subnetZones;
}

/**
 * The nodes' instance ids and zones: a node that hosts a link end is routed by its instance, and
 * reaches the Transit Gateway only through an attachment subnet in its zone.
 */
function checkNodes(
    siteName: string,
    nodes: PlacedSite["nodes"],
    aws: AwsConfig,
    hosts: Set<string>,
    subnetZones: Map<string, number>,
    problems: Problems,
): void {
    nodes.forEach((node, i) => {
        // A pool's nodes, their instances and zones are the cluster's: the preflight holds them against it.
        if (node.slot !== undefined) return;
        const hostsEnd = hosts.has(`${siteName}/${node.name}`);
        if (node.instanceId !== undefined || hostsEnd) {
            checkId("instanceId", node.instanceId, siteField(siteName, "nodes", i, "instanceId"), problems);
        }
        const zone = node.availabilityZone;
        if (zone !== undefined) checkZone(zone, aws.region, siteField(siteName, "nodes", i, "availabilityZone"), problems);
        if (!hostsEnd || aws.attachmentSubnets.length === 0) return;
        const zones = [...subnetZones.keys()].join(", ");
        if (zone === undefined) {
            problems.add(
                siteField(siteName, "nodes", i, "availabilityZone"),
                zone,
                `required with routing: transitGateway for a node that hosts a link end: its zone must have an attachment subnet`,
                `write the node's zone (its topology.kubernetes.io/zone label), one of ${zones}`,
            );
        } else if (!subnetZones.has(zone)) {
            problems.add(
                siteField(siteName, "nodes", i, "availabilityZone"),
                zone,
                `no attachment subnet in ${zone} (they are in ${zones}): the node's traffic cannot reach the Transit Gateway`,
                `add a subnet of ${zone} to aws.attachmentSubnets (AWS recommends a small subnet per zone for the attachment alone), ` +
                    `or put the node's link ends on nodes in ${zones}`,
            );
        }
    });
}

/** The VPC's CIDR block, which no bridge range may overlap: the VPC would route such a range locally. */
function checkVpcCidr(
    topology: PlacedTopology,
    siteName: string,
    aws: AwsConfig,
    siteRanges: Record<string, a.Cidr>,
    problems: Problems,
): void {
    const vpcCidr = a.parseCidr(aws.vpcCidr);
    if ("error" in vpcCidr) {
        problems.add(
            siteField(siteName, "aws", "vpcCidr"),
            aws.vpcCidr,
            aws.vpcCidr === undefined ? "required with routing: transitGateway" : vpcCidr.error,
            "write the VPC's CIDR block, e.g. 10.0.0.0/16",
        );
        return;
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

/** Validates every AWS block; `siteRanges` are the parsed bridge ranges (absent when malformed). */
export function checkAws(topology: PlacedTopology, siteRanges: Record<string, a.Cidr>, problems: Problems): void {
    const hosts = endpointNodes(topology);
    checkPeeringNames(topology, problems);
    checkUniqueIds(topology, problems);
    for (const [siteName, site] of Object.entries(topology.sites)) {
        const aws = site.aws;
        if (!aws) continue;
        checkRegion(siteName, aws, problems);
        checkRouting(siteName, aws, problems);
        if (aws.routing !== "transitGateway") continue;
        checkId("vpcId", aws.vpcId, siteField(siteName, "aws", "vpcId"), problems);
        checkRouteTables(siteName, aws, problems);
        if (aws.transitGatewayId !== undefined) {
            checkId("transitGatewayId", aws.transitGatewayId, siteField(siteName, "aws", "transitGatewayId"), problems);
        }
        checkSecurityGroups(siteName, aws, problems);
        const subnetZones = checkAttachmentSubnets(siteName, aws, problems);
        checkNodes(siteName, site.nodes, aws, hosts, subnetZones, problems);
        checkVpcCidr(topology, siteName, aws, siteRanges, problems);
    }
}

const unique = (values: string[]) => [...new Set(values)];
/** Site names in code-point order, the order that picks the requester of a peering. */
const byName = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/**
 * The AWS changes of every site whose routing is `transitGateway`, and the peering of every linked
 * pair of such sites. Takes a validated topology (checkAws found nothing) and its planned links.
 */
export function planAws(topology: PlacedTopology, links: LinkPlan[]): AwsPlan {
    const routed = (site: string) => topology.sites[site].aws?.routing === "transitGateway";
    const sites: Record<string, AwsSitePlan> = {};
    const peerings = new Map<string, AwsPeeringPlan>();
    for (const [name, site] of Object.entries(topology.sites)) {
        const aws = site.aws;
        if (!aws || !routed(name)) continue;
        const peers = new Map<string, AwsPeerPlan>();
        for (const link of links) {
            const end = link.ends.find((e) => e.site === name);
            if (!end) continue;
            const peer = link.ends.find((e) => e !== end)!;
            const requester = name < peer.site;
            const entry = peers.get(peer.site) ?? {
                site: peer.site,
                range: topology.sites[peer.site].bridgeRange,
                links: [],
                peering: routed(peer.site) ? (requester ? "requester" : "accepter") : undefined,
            };
            entry.links.push({ link: end.link, port: end.port, peerAddress: peer.address });
            peers.set(peer.site, entry);
            if (entry.peering) {
                const [r, acc] = requester ? [name, peer.site] : [peer.site, name];
                const side = (s: string) => ({ site: s, region: topology.sites[s].aws!.region, range: topology.sites[s].bridgeRange });
                peerings.set(`${r}-${acc}`, { name: `${r}-${acc}`, requester: side(r), accepter: side(acc) });
            }
        }
        sites[name] = {
            site: name,
            region: aws.region,
            vpcId: aws.vpcId!,
            attachmentSubnetIds: aws.attachmentSubnets.map((s) => s.subnetId),
            nodeRouteTableIds: unique([...aws.routeTableIds, ...aws.attachmentSubnets.map((s) => s.routeTableId)]),
            peerRouteTableIds: unique(aws.routeTableIds),
            securityGroupIds: aws.securityGroupIds,
            asn: aws.transitGatewayAsn,
            existingTransitGatewayId: aws.transitGatewayId,
            bridgeRange: site.bridgeRange,
            routedNodes: site.nodes.flatMap((n, index) =>
                n.instanceId
                    ? [
                          {
                              node: n.name,
                              index,
                              range: n.range,
                              instanceId: n.instanceId,
                              availabilityZone: n.availabilityZone,
                              ...(n.slot !== undefined && { slot: n.slot }),
                          },
                      ]
                    : [],
            ),
            peers: [...peers.values()].sort((x, y) => byName(x.site, y.site)),
        };
    }
    return { sites, peerings: [...peerings.values()].sort((x, y) => byName(x.name, y.name)) };
}

/**
 * What a stack that deploys one side of `peering` (or both) does for it now. A side in another
 * stack is known only by what that stack published (`published`, undefined before its first run):
 * the requester requests once the accepter's Transit Gateway is published, the accepter accepts
 * once the request is, and the requester routes once the acceptance is. A stack that deploys both
 * sides does all of it in one run and waits for nothing.
 */
export function peeringStep(peering: AwsPeeringPlan, deploys: (site: string) => boolean, published?: Partial<AwsFacts>): AwsPeeringStep {
    const [r, a] = [peering.requester.site, peering.accepter.site];
    if (deploys(r) && deploys(a)) return {};
    if (deploys(r)) {
        if (!published?.transitGatewayId) {
            return {
                waitingFor: {
                    site: a,
                    reason: `site ${r} cannot request its Transit Gateway peering with ${a} yet: ${a} has not published its Transit Gateway`,
                },
            };
        }
        const { region, accountId, transitGatewayId } = published as AwsFacts;
        const acceptedAttachmentId = published.acceptedPeerings?.[r];
        return {
            accepterGateway: { region, accountId, transitGatewayId },
            acceptedAttachmentId,
            waitingFor:
                acceptedAttachmentId === undefined
                    ? {
                          site: a,
                          reason: `site ${r} requests its Transit Gateway peering with ${a}, and routes ${a}'s range through it once ${a} has accepted it`,
                      }
                    : undefined,
        };
    }
    const requestedAttachmentId = published?.peeringAttachments?.[a];
    return requestedAttachmentId === undefined
        ? {
              waitingFor: {
                  site: r,
                  reason: `site ${a} cannot accept its Transit Gateway peering with ${r} yet: ${r} has not requested it`,
              },
          }
        : { requestedAttachmentId };
}
