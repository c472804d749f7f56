// The checks of every site's aws block that need nothing from AWS: the shape of what is written
// (well-formed ids, each once, zones of the region), and the bridge ranges against a written VPC
// CIDR. What is found in AWS is checked when it is found (discovery.ts).
import * as a from "../addressing/addresses";
import { Problems, Unique } from "../problems/errors";
import { fieldPath, PlacedSite, PlacedTopology } from "../topology/schema";

const ID_PATTERNS = {
    vpcId: /^vpc-[0-9a-f]{8,17}$/,
    routeTableId: /^rtb-[0-9a-f]{8,17}$/,
    subnetId: /^subnet-[0-9a-f]{8,17}$/,
    securityGroupId: /^sg-[0-9a-f]{8,17}$/,
    instanceId: /^i-[0-9a-f]{8,17}$/,
    transitGatewayId: /^tgw-[0-9a-f]{8,17}$/,
    transitGatewayRouteTableId: /^tgw-rtb-[0-9a-f]{8,17}$/,
} as const;

const ID_EXAMPLES: Record<keyof typeof ID_PATTERNS, string> = {
    vpcId: "vpc-0a1b2c3d4e5f60718",
    routeTableId: "rtb-0a1b2c3d4e5f60718",
    subnetId: "subnet-0a1b2c3d4e5f60718",
    securityGroupId: "sg-0a1b2c3d4e5f60718",
    instanceId: "i-0a1b2c3d4e5f60718",
    transitGatewayId: "tgw-0a1b2c3d4e5f60718",
    transitGatewayRouteTableId: "tgw-rtb-0a1b2c3d4e5f60718",
};

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

/** A named Transit Gateway route table is one of an existing gateway's: one the program creates has its own default table. */
function checkGatewayRouteTable(siteName: string, aws: AwsConfig, problems: Problems): void {
    const field = siteField(siteName, "aws", "transitGatewayRouteTableId");
    checkId("transitGatewayRouteTableId", aws.transitGatewayRouteTableId, field, problems);
    if (aws.transitGatewayId === undefined) {
        problems.add(
            field,
            aws.transitGatewayRouteTableId,
            "names a route table, but the program creates the site's Transit Gateway, whose default table it uses",
            "remove it, or name the existing Transit Gateway it belongs to in transitGatewayId",
        );
    }
}

/** Whether `zone` is an availability zone (or Local Zone) of `region`: us-east-2a, us-west-2-lax-1a. */
function inRegion(zone: string, region: string): boolean {
    return zone.startsWith(region) && /^(-[a-z]+-\d+)?[a-z]$/.test(zone.slice(region.length));
}

/** The sites and nodes that host a link end: `<site>/<node>`. */
export function endpointNodes(topology: PlacedTopology): Set<string> {
    return new Set(topology.links.flatMap((l) => l.ends.map((e) => `${e.site}/${e.node}`)));
}

/** A site's aws block. */
type AwsConfig = NonNullable<PlacedSite["aws"]>;
type AttachmentSubnets = NonNullable<AwsConfig["attachmentSubnets"]>;

/** Site names in code-point order, the order that picks the requester of a peering. */
export const byName = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

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
        site.nodes.forEach((node, i) => {
            if (node.slot === undefined) instances.check(node.instanceId, siteField(siteName, "nodes", i, "instanceId"));
        });
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

/** An id in the form AWS writes it; undefined only where routing: transitGateway needs it (a node that hosts a link end). */
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

function checkRouteTables(siteName: string, routeTableIds: string[], problems: Problems): void {
    if (routeTableIds.length === 0) {
        problems.add(
            siteField(siteName, "aws", "routeTableIds"),
            routeTableIds,
            "empty; routing: transitGateway needs at least one",
            `leave routeTableIds out to use the route tables of the routed nodes' subnets, or list them, e.g. [${ID_EXAMPLES.routeTableId}]`,
        );
    }
    const tables = new Unique(problems, "route table", "list each route table once");
    routeTableIds.forEach((id, i) => {
        checkId("routeTableId", id, siteField(siteName, "aws", "routeTableIds", i), problems);
        tables.check(id, siteField(siteName, "aws", "routeTableIds", i));
    });
}

function checkSecurityGroups(siteName: string, securityGroupIds: string[], problems: Problems): void {
    const groups = new Unique(problems, "security group", "list each security group once");
    securityGroupIds.forEach((id, i) => {
        checkId("securityGroupId", id, siteField(siteName, "aws", "securityGroupIds", i), problems);
        groups.check(id, siteField(siteName, "aws", "securityGroupIds", i));
    });
}

/** The written subnets of the Transit Gateway's VPC attachment; returns the first of them in each zone, by zone. */
function checkAttachmentSubnets(siteName: string, aws: AwsConfig, written: AttachmentSubnets, problems: Problems): Map<string, number> {
    if (written.length === 0) {
        problems.add(
            siteField(siteName, "aws", "attachmentSubnets"),
            written,
            "empty; routing: transitGateway needs a subnet for the Transit Gateway's VPC attachment in every zone with endpoint nodes",
            `leave attachmentSubnets out to use the subnets of the nodes that host link ends, or list them, e.g. ` +
                `[{subnetId: ${ID_EXAMPLES.subnetId}, availabilityZone: ${aws.region}a, routeTableId: ${ID_EXAMPLES.routeTableId}}]`,
        );
    }
    const subnetZones = new Map<string, number>();
    const subnets = new Unique(problems, "subnet", "list each subnet once");
    written.forEach((subnet, i) => {
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
 * reaches the Transit Gateway only through an attachment subnet in its zone. Where the attachment
 * subnets are not written, they are the end nodes' own subnets, found with their zones in AWS.
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
        if (!hostsEnd || !aws.attachmentSubnets?.length) return;
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

/**
 * The written VPC CIDR block, which no bridge range may overlap: the VPC would route such a range
 * locally. Without one, the VPC's blocks are checked once they are found (discovery.ts).
 */
function checkVpcCidr(
    topology: PlacedTopology,
    siteName: string,
    aws: AwsConfig,
    siteRanges: Record<string, a.Cidr>,
    problems: Problems,
): void {
    if (aws.vpcCidr === undefined) return;
    const vpcCidr = a.parseCidr(aws.vpcCidr);
    if ("error" in vpcCidr) {
        problems.add(
            siteField(siteName, "aws", "vpcCidr"),
            aws.vpcCidr,
            vpcCidr.error,
            "write a CIDR block of the VPC, e.g. 10.0.0.0/16, or leave vpcCidr out to use the VPC's own",
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
        if (aws.vpcId !== undefined) checkId("vpcId", aws.vpcId, siteField(siteName, "aws", "vpcId"), problems);
        if (aws.routeTableIds) checkRouteTables(siteName, aws.routeTableIds, problems);
        if (aws.transitGatewayId !== undefined) {
            checkId("transitGatewayId", aws.transitGatewayId, siteField(siteName, "aws", "transitGatewayId"), problems);
        }
        if (aws.transitGatewayRouteTableId !== undefined) checkGatewayRouteTable(siteName, aws, problems);
        if (aws.securityGroupIds) checkSecurityGroups(siteName, aws.securityGroupIds, problems);
        const subnetZones = aws.attachmentSubnets ? checkAttachmentSubnets(siteName, aws, aws.attachmentSubnets, problems) : new Map();
        checkNodes(siteName, site.nodes, aws, hosts, subnetZones, problems);
        checkVpcCidr(topology, siteName, aws, siteRanges, problems);
    }
}
