// What the program finds in AWS for one site's routing, as plain data: program/discoverAws.ts asks
// AWS through a site's lookups (AwsLookups: the site's own provider under the engine, the aws CLI
// in npm run discover), in the rounds these functions say, and discovery.ts turns what it found
// and the topology's pins into the site's plan.
import type { AwsSiteIntent } from "../types";

/** A lookup that failed: what the provider said (it says "no matching ... found" when it finds nothing). */
export interface LookupFailure {
    error: string;
}

/** What one lookup found, or how it failed. */
export type Lookup<T> = T | LookupFailure;

/** An instance, as aws.ec2.getInstance reads it (ec2 describe-instances). */
export interface FoundInstance {
    /** The subnet of its primary network interface. */
    subnetId: string;
    availabilityZone: string;
    /** Its primary network interface (device 0): the one the node's own traffic uses. */
    networkInterfaceId: string;
    securityGroupIds: string[];
}

/** A subnet, as aws.ec2.getSubnet reads it (ec2 describe-subnets). */
export interface FoundSubnet {
    vpcId: string;
    availabilityZone: string;
}

/** A VPC, as aws.ec2.getVpc reads it (ec2 describe-vpcs). */
export interface FoundVpc {
    /** Its IPv4 CIDR blocks that are associated, or being associated. */
    cidrBlocks: string[];
}

/** An existing Transit Gateway, as aws.ec2transitgateway.getTransitGateway reads it (ec2 describe-transit-gateways). */
export interface FoundTransitGateway {
    /** Whether AWS associates new attachments with its default association table. */
    defaultAssociation: boolean;
    /** That table, when it has one. */
    defaultRouteTableId?: string;
}

/** A Transit Gateway route table, as aws.ec2transitgateway.getRouteTable reads it (ec2 describe-transit-gateway-route-tables). */
export interface FoundGatewayRouteTable {
    /** The Transit Gateway it belongs to. */
    transitGatewayId: string;
}

/** A filter of ec2 describe-route-tables: the route tables whose `name` is one of `values`. */
export interface RouteTableFilter {
    name: "vpc-id" | "association.subnet-id" | "association.main";
    values: string[];
}

/**
 * How one site's region and account are asked what its plan needs. A lookup of one thing finds
 * exactly one, or throws in the provider's words, which discovery.ts reads: "no matching EC2
 * Instance found" when there is none, "multiple EC2 Instances matched" when there are several;
 * any other failure (a refusal, a credentials error) throws what AWS said.
 */
export interface AwsLookups {
    /** ec2 describe-instances, instance-id. */
    instance(id: string): Promise<FoundInstance>;
    /** ec2 describe-subnets, subnet-id. */
    subnet(id: string): Promise<FoundSubnet>;
    /** ec2 describe-vpcs, vpc-id. */
    vpc(id: string): Promise<FoundVpc>;
    /** ec2 describe-route-tables: the ids of the route tables every filter lets through, none when none does. */
    routeTables(filters: RouteTableFilter[]): Promise<string[]>;
    /** ec2 describe-transit-gateways, transit-gateway-id. */
    transitGateway(id: string): Promise<FoundTransitGateway>;
    /** ec2 describe-transit-gateway-route-tables, transit-gateway-route-table-id. */
    gatewayRouteTable(id: string): Promise<FoundGatewayRouteTable>;
}

const unique = (values: string[]) => [...new Set(values)];

/** The states in which a CIDR block is the VPC's, or about to be. */
const ASSOCIATED = new Set(["associated", "associating"]);

/** A VPC's CIDR blocks, from its primary block and its blocks' associations: the primary first, then every associated or associating one, each once. */
export function vpcCidrBlocks(primary: string, associations: { cidrBlock: string; state: string }[]): string[] {
    return unique([primary, ...associations.filter((b) => ASSOCIATED.has(b.state)).map((b) => b.cidrBlock)]);
}

/** Everything found for one site, each lookup by the id it was made with. */
export interface AwsFound {
    /** The existing Transit Gateway the site names, when it names one. */
    transitGateway?: Lookup<FoundTransitGateway>;
    /** The route table the site names in aws.transitGatewayRouteTableId, when it names one. */
    transitGatewayRouteTable?: Lookup<FoundGatewayRouteTable>;
    /** By instance id. */
    instances: Record<string, Lookup<FoundInstance>>;
    /** By subnet id. */
    subnets: Record<string, Lookup<FoundSubnet>>;
    /** By VPC id. */
    vpcs: Record<string, Lookup<FoundVpc>>;
    /** By subnet id: the route tables associated with the subnet (ec2 describe-route-tables, association.subnet-id). */
    subnetRouteTables: Record<string, Lookup<string[]>>;
    /** By VPC id: its main route tables (ec2 describe-route-tables, association.main=true). */
    mainRouteTables: Record<string, Lookup<string[]>>;
}

/** Whether a lookup failed. */
export function failed<T>(lookup: Lookup<T>): lookup is LookupFailure {
    return typeof lookup === "object" && lookup !== null && !Array.isArray(lookup) && "error" in lookup;
}

/** The value a lookup found; undefined when it failed or was not made (a lookup it needed failed). */
export function value<T>(lookup: Lookup<T> | undefined): T | undefined {
    return lookup === undefined || failed(lookup) ? undefined : lookup;
}

/** A lookup the plan needs: the program makes every one these functions say, so one not made is a mistake of the program's. */
export function made<T>(lookup: Lookup<T> | undefined, what: string): Lookup<T> {
    if (lookup === undefined) throw new Error(`${what} was not made: the program makes the lookups planner/aws/found.ts says`);
    return lookup;
}

/** An attachment subnet found from the nodes: the subnet of the first end node (by name) of a zone. */
export interface EndSubnet {
    zone: string;
    subnetId: string;
    /** The end node it was taken from. */
    node: string;
}

/**
 * One subnet per availability zone that hosts a link end: the subnet of that zone's end node, or,
 * when the zone's end nodes are in several subnets, of the one whose name sorts first. Zones are
 * the instances' own. Sorted by zone.
 */
export function endSubnets(intent: AwsSiteIntent, instances: AwsFound["instances"]): EndSubnet[] {
    const byZone = new Map<string, EndSubnet>();
    for (const node of intent.routedNodes) {
        const instance = value(instances[node.instanceId]);
        if (!node.hostsEnd || !instance) continue;
        const first = byZone.get(instance.availabilityZone);
        if (!first || node.node < first.node) {
            byZone.set(instance.availabilityZone, { zone: instance.availabilityZone, subnetId: instance.subnetId, node: node.node });
        }
    }
    return [...byZone.values()].sort((x, y) => (x.zone < y.zone ? -1 : x.zone > y.zone ? 1 : 0));
}

/** The subnets of the routed nodes' instances, each once, in the nodes' order. */
export function nodeSubnets(intent: AwsSiteIntent, instances: AwsFound["instances"]): string[] {
    return unique(intent.routedNodes.flatMap((n) => value(instances[n.instanceId])?.subnetId ?? []));
}

/**
 * The subnets whose route table the plan needs, once the instances are found: the routed nodes'
 * unless aws.routeTableIds is written, and the attachment subnets unless aws.attachmentSubnets is.
 */
export function routeTableSubnets(intent: AwsSiteIntent, instances: AwsFound["instances"]): string[] {
    return unique([
        ...(intent.pins.routeTableIds ? [] : nodeSubnets(intent, instances)),
        ...(intent.pins.attachmentSubnets ? [] : endSubnets(intent, instances).map((s) => s.subnetId)),
    ]);
}

/**
 * The VPCs whose main route table the plan needs: those of the subnets no route table is
 * associated with, which AWS routes by their VPC's main route table.
 */
export function mainRouteTableVpcs(found: Pick<AwsFound, "subnets" | "subnetRouteTables">): string[] {
    return unique(
        Object.entries(found.subnetRouteTables).flatMap(([subnetId, tables]) =>
            value(tables)?.length === 0 ? (value(found.subnets[subnetId])?.vpcId ?? []) : [],
        ),
    );
}
