// What AWS says of a routed site's nodes, read through the site's own provider before anything is
// changed: their instances, the instances' subnets and VPC, and the subnets' route tables. Each
// round asks all its lookups at once; a round waits only for the ids the one before found.
// planner/aws/discovery.ts makes the site's plan of it.
import * as aws from "@pulumi/aws";
import {
    AwsFound,
    FoundGatewayRouteTable,
    FoundInstance,
    FoundSubnet,
    FoundTransitGateway,
    FoundVpc,
    Lookup,
    mainRouteTableVpcs,
    routeTableSubnets,
    value,
} from "../planner/aws/found";
import type { AwsSiteIntent } from "../planner/types";

const unique = (values: string[]) => [...new Set(values)];

/** Each of `ids` looked up at once: what each lookup found, or what the provider said when it failed. */
async function each<T>(ids: string[], ask: (id: string) => Promise<T>): Promise<Record<string, Lookup<T>>> {
    const answers = await Promise.all(
        ids.map((id) => ask(id).catch((err: unknown): Lookup<T> => ({ error: err instanceof Error ? err.message : String(err) }))),
    );
    return Object.fromEntries(ids.map((id, i) => [id, answers[i]]));
}

/** The states in which a CIDR block is the VPC's, or about to be. */
const ASSOCIATED = new Set(["associated", "associating"]);

/**
 * Looks up what site `intent.site`'s plan needs in AWS, through `provider` (the site's region and
 * account): the routed nodes' instances, and the existing Transit Gateway and route table it names; then their subnets and the route tables associated with
 * the subnets the plan needs (found.ts says which); then the subnets' VPC and, for a subnet no
 * route table is associated with, its VPC's main route table.
 */
export async function discoverSite(intent: AwsSiteIntent, provider: aws.Provider): Promise<AwsFound> {
    const opts = { provider };
    const gatewayId = intent.existingTransitGatewayId;
    const tableId = intent.pins.transitGatewayRouteTableId;
    const [instances, gateways, tables] = await Promise.all([
        each(unique(intent.routedNodes.map((n) => n.instanceId)), async (instanceId): Promise<FoundInstance> => {
            const found = await aws.ec2.getInstance({ instanceId }, opts);
            return {
                subnetId: found.subnetId,
                availabilityZone: found.availabilityZone,
                networkInterfaceId: found.networkInterfaceId,
                securityGroupIds: found.vpcSecurityGroupIds,
            };
        }),
        each(gatewayId === undefined ? [] : [gatewayId], async (id): Promise<FoundTransitGateway> => {
            const found = await aws.ec2transitgateway.getTransitGateway({ id }, opts);
            return {
                defaultAssociation: found.defaultRouteTableAssociation === "enable",
                defaultRouteTableId: found.associationDefaultRouteTableId || undefined,
            };
        }),
        each(tableId === undefined ? [] : [tableId], async (id): Promise<FoundGatewayRouteTable> => {
            const found = await aws.ec2transitgateway.getRouteTable({ id }, opts);
            return { transitGatewayId: found.transitGatewayId };
        }),
    ]);
    const subnetIds = unique(Object.values(instances).flatMap((i) => value(i)?.subnetId ?? []));
    const [subnets, subnetRouteTables] = await Promise.all([
        each(subnetIds, async (id): Promise<FoundSubnet> => {
            const found = await aws.ec2.getSubnet({ id }, opts);
            return { vpcId: found.vpcId, availabilityZone: found.availabilityZone };
        }),
        each(routeTableSubnets(intent, instances), async (subnetId) => {
            const found = await aws.ec2.getRouteTables({ filters: [{ name: "association.subnet-id", values: [subnetId] }] }, opts);
            return found.ids;
        }),
    ]);
    const vpcIds = unique(Object.values(subnets).flatMap((s) => value(s)?.vpcId ?? []));
    const [vpcs, mainRouteTables] = await Promise.all([
        each(vpcIds, async (id): Promise<FoundVpc> => {
            const found = await aws.ec2.getVpc({ id }, opts);
            const blocks = found.cidrBlockAssociations.filter((b) => ASSOCIATED.has(b.state)).map((b) => b.cidrBlock);
            return { cidrBlocks: unique([found.cidrBlock, ...blocks]) };
        }),
        each(mainRouteTableVpcs({ subnets, subnetRouteTables }), async (vpcId) => {
            const filters = [
                { name: "vpc-id", values: [vpcId] },
                { name: "association.main", values: ["true"] },
            ];
            return (await aws.ec2.getRouteTables({ filters }, opts)).ids;
        }),
    ]);
    const transitGateway = gatewayId === undefined ? undefined : gateways[gatewayId];
    const transitGatewayRouteTable = tableId === undefined ? undefined : tables[tableId];
    return { transitGateway, transitGatewayRouteTable, instances, subnets, vpcs, subnetRouteTables, mainRouteTables };
}
