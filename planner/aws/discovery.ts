// A site's AWS plan from what was found in AWS (found.ts) and the ids the topology pins. The
// rules, for a site with routing: transitGateway:
//
// - the VPC is the one every routed node's subnet is in; nodes in two VPCs are an error.
//   aws.vpcId, when written, must be that VPC, and aws.vpcCidr one of its CIDR blocks; no bridge
//   range may overlap any of its blocks;
// - the nodes' route tables (they get the node routes and the peers' ranges) are the route tables
//   of the routed nodes' subnets, each once: a subnet's associated table, else its VPC's main
//   table (AWS's rule). aws.routeTableIds, when written, replaces them;
// - the attachment subnets are one per zone that hosts a link end: the subnet of that zone's end
//   node (of the one whose name sorts first, when they are in several); their route tables get the
//   node routes too. aws.attachmentSubnets, when written, replaces them;
// - the security groups are the routed nodes' instances' groups, each once. aws.securityGroupIds,
//   when written, replaces them;
// - each node's range goes to its instance's primary network interface; a node's written
//   availabilityZone must be its instance's;
// - with an existing Transit Gateway (aws.transitGatewayId), the site's attachments are associated
//   with, and its routes go to, aws.transitGatewayRouteTableId when written (a table of that
//   gateway), else the gateway's default association table; a gateway whose default association is
//   off needs the table written. AWS associates an accepted peering with the default table by
//   itself, so a site that accepts a peering cannot name another table while that is on.
import * as a from "../addressing/addresses";
import { Problems } from "../problems/errors";
import { fieldPath } from "../topology/schema";
import type { AwsRoutedNode, AwsSiteIds, AwsSiteIntent, AwsSitePlan } from "../types";
import { AwsFound, endSubnets, failed, FoundInstance, LookupFailure, made, nodeSubnets, value } from "./found";

/** How each lookup is named in messages: what it looks for, and the AWS CLI call and filter that find it. */
export const LOOKUPS = {
    instance: (id: string) => `the instance ${id} (ec2 describe-instances, instance-id)`,
    subnet: (id: string) => `the subnet ${id} (ec2 describe-subnets, subnet-id)`,
    vpc: (id: string) => `the VPC ${id} (ec2 describe-vpcs, vpc-id)`,
    routeTable: (subnetId: string) => `the route table of subnet ${subnetId} (ec2 describe-route-tables, association.subnet-id)`,
    mainRouteTable: (vpcId: string) => `the main route table of VPC ${vpcId} (ec2 describe-route-tables, vpc-id, association.main=true)`,
    transitGateway: (id: string) => `the Transit Gateway ${id} (ec2 describe-transit-gateways, transit-gateway-id)`,
    gatewayRouteTable: (id: string) =>
        `the Transit Gateway route table ${id} (ec2 describe-transit-gateway-route-tables, transit-gateway-route-table-id)`,
};

const unique = (values: string[]) => [...new Set(values)];

/** What a failed lookup amounts to, from what the provider said. */
function outcome(failure: LookupFailure): { said: string; missing: boolean } {
    if (/no matching .* found|\.NotFound\b/.test(failure.error)) return { said: "finds nothing", missing: true };
    if (/multiple .* matched/.test(failure.error)) return { said: "finds more than one", missing: true };
    // The provider's own words, after what the engine says around them.
    const said = failure.error.replace(/^[\s\S]*\berrors? occurred:\s*\*\s*/, "");
    return { said: `fails: ${said.replace(/\s+/g, " ").trim()}`, missing: false };
}

/** The fix of a failed lookup: the pin's when it found nothing or too much; else, the permissions first. */
function failureFix(failure: LookupFailure, pinFix: string, call: string): string {
    return outcome(failure).missing
        ? pinFix
        : `check that the site's AWS credentials may call ${call} (docs/iam-policy.json, statement EveryRun), or ${pinFix}`;
}

/** What is found for one site, and where its problems go. */
interface Site {
    intent: AwsSiteIntent;
    found: AwsFound;
    problems: Problems;
    field: (...path: (string | number)[]) => string;
}

/** A routed node with its instance, once the instance is found. */
interface FoundNode {
    node: AwsRoutedNode;
    instance: FoundInstance;
}

/** The routed nodes whose instances were found; a problem for each that was not, or whose zone is not the written one. */
function foundNodes(s: Site): FoundNode[] {
    const { intent, found, problems, field } = s;
    return intent.routedNodes.flatMap((node): FoundNode[] => {
        const instance = made(found.instances[node.instanceId], LOOKUPS.instance(node.instanceId));
        if (failed(instance)) {
            problems.add(
                field("nodes", node.index, "instanceId"),
                node.instanceId,
                `${LOOKUPS.instance(node.instanceId)} in ${intent.region} ${outcome(instance).said}`,
                failureFix(
                    instance,
                    `set it to the instance of node ${node.node} (the end of the node's spec.providerID), an instance of ${intent.region}`,
                    "ec2:DescribeInstances",
                ),
            );
            return [];
        }
        if (node.availabilityZone !== undefined && node.availabilityZone !== instance.availabilityZone) {
            problems.add(
                field("nodes", node.index, "availabilityZone"),
                node.availabilityZone,
                `${LOOKUPS.instance(node.instanceId)} is in ${instance.availabilityZone}`,
                `set it to ${instance.availabilityZone}, or leave it out`,
            );
        }
        const { availabilityZone, networkInterfaceId } = instance;
        return [{ node: { ...node, availabilityZone, networkInterfaceId }, instance }];
    });
}

/** The VPC of the routed nodes' subnets: one, and the written one if aws.vpcId is written. */
function siteVpc(s: Site, nodes: FoundNode[]): string | undefined {
    const { intent, problems, field } = s;
    const vpcs = new Map<string, FoundNode>();
    const seen = new Set<string>();
    for (const found of nodes) {
        const { node, instance } = found;
        const subnet = made(s.found.subnets[instance.subnetId], LOOKUPS.subnet(instance.subnetId));
        if (!failed(subnet)) {
            if (!vpcs.has(subnet.vpcId)) vpcs.set(subnet.vpcId, found);
        } else if (!seen.has(instance.subnetId)) {
            problems.add(
                field("aws", "vpcId"),
                intent.pins.vpcId,
                `${LOOKUPS.subnet(instance.subnetId)}, the subnet of node ${node.node}'s instance ${node.instanceId}, ` +
                    `${outcome(subnet).said}: the site's VPC is the one of its routed nodes' subnets`,
                failureFix(
                    subnet,
                    `check that instance ${node.instanceId} is node ${node.node}'s, in ${intent.region}`,
                    "ec2:DescribeSubnets",
                ),
            );
        }
        seen.add(instance.subnetId);
    }
    const [[vpcId, first] = [], ...others] = vpcs;
    for (const [other, { node }] of others) {
        problems.add(
            field("nodes", node.index, "instanceId"),
            node.instanceId,
            `node ${node.node}'s instance is in VPC ${other}, and node ${first!.node.node}'s in VPC ${vpcId}: a site's routed nodes ` +
                `share one VPC, which the Transit Gateway attaches to`,
            `leave out the instanceId of nodes outside the cluster's VPC (they are then not routed, and may host no link end), ` +
                `or make them sites of their own`,
        );
    }
    if (vpcId !== undefined && intent.pins.vpcId !== undefined && intent.pins.vpcId !== vpcId) {
        problems.add(
            field("aws", "vpcId"),
            intent.pins.vpcId,
            `the routed nodes' subnets are in VPC ${vpcId} (${LOOKUPS.subnet(first!.instance.subnetId)})`,
            `set it to ${vpcId}, or leave it out`,
        );
    }
    return others.length === 0 ? vpcId : undefined;
}

/** The VPC's CIDR blocks: aws.vpcCidr, when written, is one of them, and no site's bridge range overlaps any. */
function checkVpcBlocks(s: Site, vpcId: string, bridgeRanges: Record<string, string>): void {
    const { intent, found, problems, field } = s;
    const vpc = made(found.vpcs[vpcId], LOOKUPS.vpc(vpcId));
    if (failed(vpc)) {
        problems.add(
            field("aws", "vpcCidr"),
            intent.pins.vpcCidr,
            `${LOOKUPS.vpc(vpcId)} ${outcome(vpc).said}: no bridge range may overlap its CIDR blocks`,
            failureFix(vpc, `check that VPC ${vpcId} is in ${intent.region}`, "ec2:DescribeVpcs"),
        );
        return;
    }
    if (intent.pins.vpcCidr !== undefined && !vpc.cidrBlocks.includes(intent.pins.vpcCidr)) {
        problems.add(
            field("aws", "vpcCidr"),
            intent.pins.vpcCidr,
            `not a CIDR block of VPC ${vpcId}, which has ${vpc.cidrBlocks.join(", ")} (${LOOKUPS.vpc(vpcId)})`,
            `set it to ${vpc.cidrBlocks[0]}, or leave it out`,
        );
    }
    for (const block of vpc.cidrBlocks) {
        const cidr = a.parseCidr(block);
        if ("error" in cidr) continue;
        for (const [site, range] of Object.entries(bridgeRanges)) {
            const parsed = a.parseCidr(range);
            if ("cidr" in parsed && a.overlaps(parsed.cidr, cidr.cidr)) {
                problems.add(
                    fieldPath(["sites", site, "bridgeRange"]),
                    range,
                    `overlaps ${block}, a CIDR block of site ${intent.site}'s VPC ${vpcId}: the VPC would route it locally instead of to the nodes`,
                    "take the bridge ranges from addresses outside every linked VPC",
                );
            }
        }
    }
}

/** The fields that replace a route table lookup, as a fix names them. */
const PINNED_BY: Record<RouteTablePin, string> = {
    routeTableIds: "aws.routeTableIds (the route tables that get the node routes and the peers' ranges)",
    attachmentSubnets: "aws.attachmentSubnets (each {subnetId, availabilityZone, routeTableId})",
};
type RouteTablePin = "routeTableIds" | "attachmentSubnets";

/**
 * Each subnet's route table: its associated one, else its VPC's main one; a problem (once per
 * subnet) when a lookup finds none or several, on the first of `pins` (the unwritten fields that
 * need it, each of which would replace the lookup).
 */
class RouteTables {
    private readonly known = new Map<string, string | undefined>();

    constructor(
        private readonly s: Site,
        private readonly pins: Map<string, RouteTablePin[]>,
    ) {}

    of(subnetId: string): string | undefined {
        if (!this.known.has(subnetId)) this.known.set(subnetId, this.find(subnetId));
        return this.known.get(subnetId);
    }

    private find(subnetId: string): string | undefined {
        const { found } = this.s;
        const tables = made(found.subnetRouteTables[subnetId], LOOKUPS.routeTable(subnetId));
        if (failed(tables)) return this.problem(subnetId, `${LOOKUPS.routeTable(subnetId)} ${outcome(tables).said}`);
        if (tables.length === 1) return tables[0];
        if (tables.length > 1)
            return this.problem(subnetId, `${LOOKUPS.routeTable(subnetId)} finds ${tables.join(", ")}: a subnet has one`);
        // A subnet no route table is associated with is routed by its VPC's main route table.
        // Without its subnet's VPC (a problem already), there is no main route table to look for.
        const vpcId = value(found.subnets[subnetId])?.vpcId;
        if (vpcId === undefined) return undefined;
        const mains = made(found.mainRouteTables[vpcId], LOOKUPS.mainRouteTable(vpcId));
        const where = `${LOOKUPS.routeTable(subnetId)} finds none, so the subnet uses its VPC's main route table, and ${LOOKUPS.mainRouteTable(vpcId)}`;
        if (failed(mains)) return this.problem(subnetId, `${where} ${outcome(mains).said}`);
        if (mains.length === 1) return mains[0];
        return this.problem(subnetId, `${where} finds ${mains.length === 0 ? "nothing" : mains.join(", ")}`);
    }

    private problem(subnetId: string, message: string): undefined {
        const { problems, field } = this.s;
        const pins = this.pins.get(subnetId) ?? ["routeTableIds"];
        problems.add(
            field("aws", pins[0]),
            undefined,
            message,
            `write ${pins.map((p) => PINNED_BY[p]).join(" and ")} to replace this lookup, or check that the site's AWS ` +
                `credentials may call ec2:DescribeRouteTables (docs/iam-policy.json, statement EveryRun)`,
        );
        return undefined;
    }
}

/**
 * The existing Transit Gateway, with the route table the site's attachments are associated with
 * and its routes go to; undefined for a gateway the program creates, and (with a problem) when
 * there is no table to use.
 */
function existingGateway(s: Site): AwsSitePlan["existingTransitGateway"] {
    const { intent, found, problems, field } = s;
    const gatewayId = intent.existingTransitGatewayId;
    if (gatewayId === undefined) return undefined;
    const gateway = made(found.transitGateway, LOOKUPS.transitGateway(gatewayId));
    if (failed(gateway)) {
        problems.add(
            field("aws", "transitGatewayId"),
            gatewayId,
            `${LOOKUPS.transitGateway(gatewayId)} in ${intent.region} ${outcome(gateway).said}`,
            failureFix(
                gateway,
                `set it to a Transit Gateway of ${intent.region}, or leave it out to have one created`,
                "ec2:DescribeTransitGateways",
            ),
        );
        return undefined;
    }
    const byDefault = gateway.defaultAssociation ? gateway.defaultRouteTableId : undefined;
    const tableId = intent.pins.transitGatewayRouteTableId;
    const tableField = field("aws", "transitGatewayRouteTableId");
    const listTables = `ec2 describe-transit-gateway-route-tables --filters Name=transit-gateway-id,Values=${gatewayId}`;
    if (tableId === undefined) {
        if (byDefault !== undefined) return { id: gatewayId, routeTableId: byDefault, associatesByDefault: true };
        problems.add(
            tableField,
            undefined,
            `Transit Gateway ${gatewayId} has its default route table association off, so nothing says which of its ` +
                `route tables the site's attachments belong to (${LOOKUPS.transitGateway(gatewayId)})`,
            `name the route table the site's VPC and peering attachments are associated with (${listTables} lists them)`,
        );
        return undefined;
    }
    const table = made(found.transitGatewayRouteTable, LOOKUPS.gatewayRouteTable(tableId));
    if (failed(table)) {
        problems.add(
            tableField,
            tableId,
            `${LOOKUPS.gatewayRouteTable(tableId)} in ${intent.region} ${outcome(table).said}`,
            failureFix(
                table,
                `set it to a route table of Transit Gateway ${gatewayId} (${listTables} lists them)`,
                "ec2:DescribeTransitGatewayRouteTables",
            ),
        );
        return undefined;
    }
    if (table.transitGatewayId !== gatewayId) {
        problems.add(
            tableField,
            tableId,
            `a route table of Transit Gateway ${table.transitGatewayId}, not of the site's ${gatewayId} (${LOOKUPS.gatewayRouteTable(tableId)})`,
            `set it to a route table of Transit Gateway ${gatewayId} (${listTables} lists them)`,
        );
        return undefined;
    }
    const accepts = intent.peers.filter((p) => p.peering === "accepter").map((p) => p.site);
    if (byDefault !== undefined && byDefault !== tableId && accepts.length > 0) {
        problems.add(
            tableField,
            tableId,
            `AWS associates the peering the site accepts from ${accepts.join(", ")} with Transit Gateway ${gatewayId}'s ` +
                `default association table ${byDefault} by itself, and an attachment is associated with one table only`,
            `set it to ${byDefault} or leave it out, or turn the gateway's default route table association off ` +
                `(ec2 modify-transit-gateway --options DefaultRouteTableAssociation=disable)`,
        );
        return undefined;
    }
    return { id: gatewayId, routeTableId: tableId, associatesByDefault: tableId === byDefault };
}

/** The unwritten fields each subnet's route table lookup serves: the routed nodes' route tables, the attachment subnets'. */
function routeTablePins(intent: AwsSiteIntent, found: AwsFound): Map<string, RouteTablePin[]> {
    const pins = new Map<string, RouteTablePin[]>();
    const add = (subnetId: string, pin: RouteTablePin) => pins.set(subnetId, [...(pins.get(subnetId) ?? []), pin]);
    if (!intent.pins.routeTableIds) for (const subnetId of nodeSubnets(intent, found.instances)) add(subnetId, "routeTableIds");
    if (!intent.pins.attachmentSubnets) for (const { subnetId } of endSubnets(intent, found.instances)) add(subnetId, "attachmentSubnets");
    return pins;
}

/**
 * Site `intent.site`'s AWS plan from what was found in AWS and the ids its topology pins, by the
 * rules at the top of this file, with the ids it uses as the site's aws block would write them;
 * undefined, with problems that name the field (the pin), the value and what was found, when a
 * lookup found nothing or too much, or a pin disagrees with what was found. `bridgeRanges`: every
 * site's bridge range, none of which may overlap the VPC.
 */
export function resolveAwsSite(
    intent: AwsSiteIntent,
    found: AwsFound,
    bridgeRanges: Record<string, string>,
    problems: Problems,
): { plan: AwsSitePlan; ids: AwsSiteIds } | undefined {
    const before = problems.list.length;
    const s: Site = { intent, found, problems, field: (...path) => fieldPath(["sites", intent.site, ...path]) };
    const nodes = foundNodes(s);
    const vpcId = siteVpc(s, nodes);
    if (vpcId !== undefined) checkVpcBlocks(s, vpcId, bridgeRanges);
    const tables = new RouteTables(s, routeTablePins(intent, found));
    const peerRouteTableIds =
        intent.pins.routeTableIds ?? unique(nodeSubnets(intent, found.instances).flatMap((id) => tables.of(id) ?? []));
    const attachments =
        intent.pins.attachmentSubnets ??
        endSubnets(intent, found.instances).map(({ subnetId, zone }) => ({
            subnetId,
            availabilityZone: zone,
            routeTableId: tables.of(subnetId),
        }));
    const securityGroupIds = intent.pins.securityGroupIds ?? unique(nodes.flatMap((n) => n.instance.securityGroupIds));
    const existingTransitGateway = existingGateway(s);
    if (problems.list.length > before || vpcId === undefined) return undefined;
    const { site, region, asn, bridgeRange, peers } = intent;
    const attachmentSubnets = attachments.map(({ subnetId, availabilityZone, routeTableId }) => ({
        subnetId,
        availabilityZone,
        routeTableId: routeTableId!,
    }));
    const plan: AwsSitePlan = {
        site,
        region,
        asn,
        existingTransitGateway,
        bridgeRange,
        peers,
        vpcId,
        attachmentSubnetIds: attachmentSubnets.map((x) => x.subnetId),
        nodeRouteTableIds: unique([...peerRouteTableIds, ...attachmentSubnets.map((x) => x.routeTableId)]),
        peerRouteTableIds,
        securityGroupIds,
        routedNodes: nodes.map((n) => n.node),
    };
    const ids: AwsSiteIds = {
        vpcId,
        // The VPC was found (a failed lookup is a problem): its primary block, unless another of its blocks is written.
        vpcCidr: intent.pins.vpcCidr ?? value(found.vpcs[vpcId])!.cidrBlocks[0],
        routeTableIds: peerRouteTableIds,
        attachmentSubnets,
        securityGroupIds,
        ...(existingTransitGateway && { transitGatewayRouteTableId: existingTransitGateway.routeTableId }),
    };
    return { plan, ids };
}
