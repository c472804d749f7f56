// What AWS says of a routed site's nodes, read before anything is changed: their instances, the
// instances' subnets and VPC, and the subnets' route tables. Each round asks all its lookups at
// once; a round waits only for the ids the one before found. What is asked is here; how, is the
// site's AwsLookups: the AWS provider's data sources when the engine runs the program
// (awsProviderLookups.ts), the aws CLI in npm run discover (lib/awsCliLookups.ts).
// planner/aws/discovery.ts makes the site's plan of what was found.
import { resolveAwsSite } from "../planner/aws/discovery";
import { AwsFound, AwsLookups, Lookup, mainRouteTableVpcs, routeTableSubnets, value } from "../planner/aws/found";
import type { Problems } from "../planner/problems/errors";
import type { AwsSiteIds, AwsSiteIntent, AwsSitePlan, Plan } from "../planner/types";

const unique = (values: string[]) => [...new Set(values)];

/** Each of `ids` looked up at once: what each lookup found, or what it said when it failed. */
async function each<T>(ids: string[], ask: (id: string) => Promise<T>): Promise<Record<string, Lookup<T>>> {
    const attempt = async (id: string): Promise<Lookup<T>> => {
        try {
            return await ask(id);
        } catch (err) {
            return { error: err instanceof Error ? err.message : String(err) };
        }
    };
    const answers = await Promise.all(ids.map(attempt));
    return Object.fromEntries(ids.map((id, i) => [id, answers[i]]));
}

/**
 * Looks up what site `intent.site`'s plan needs in AWS, through `lookups` (the site's region and
 * account): the routed nodes' instances, and the existing Transit Gateway and route table it
 * names; then their subnets and the route tables associated with the subnets the plan needs
 * (found.ts says which); then the subnets' VPC and, for a subnet no route table is associated
 * with, its VPC's main route table.
 */
export async function discoverSite(intent: AwsSiteIntent, lookups: AwsLookups): Promise<AwsFound> {
    const gatewayId = intent.existingTransitGatewayId;
    const tableId = intent.pins.transitGatewayRouteTableId;
    const [instances, gateways, tables] = await Promise.all([
        each(unique(intent.routedNodes.map((n) => n.instanceId)), (id) => lookups.instance(id)),
        each(gatewayId === undefined ? [] : [gatewayId], (id) => lookups.transitGateway(id)),
        each(tableId === undefined ? [] : [tableId], (id) => lookups.gatewayRouteTable(id)),
    ]);
    const subnetIds = unique(Object.values(instances).flatMap((i) => value(i)?.subnetId ?? []));
    const [subnets, subnetRouteTables] = await Promise.all([
        each(subnetIds, (id) => lookups.subnet(id)),
        each(routeTableSubnets(intent, instances), (subnetId) =>
            lookups.routeTables([{ name: "association.subnet-id", values: [subnetId] }]),
        ),
    ]);
    const vpcIds = unique(Object.values(subnets).flatMap((s) => value(s)?.vpcId ?? []));
    const [vpcs, mainRouteTables] = await Promise.all([
        each(vpcIds, (id) => lookups.vpc(id)),
        each(mainRouteTableVpcs({ subnets, subnetRouteTables }), (vpcId) =>
            lookups.routeTables([
                { name: "vpc-id", values: [vpcId] },
                { name: "association.main", values: ["true"] },
            ]),
        ),
    ]);
    const transitGateway = gatewayId === undefined ? undefined : gateways[gatewayId];
    const transitGatewayRouteTable = tableId === undefined ? undefined : tables[tableId];
    return { transitGateway, transitGatewayRouteTable, instances, subnets, vpcs, subnetRouteTables, mainRouteTables };
}

/**
 * The AWS plan of each of `sites` (routed sites of `plan`), with the ids it uses, from what each
 * site's own lookups (`lookupsOf`) find, every site at once, resolved with the topology's pins
 * (planner/aws/discovery.ts). A site whose lookups fail, or whose pins disagree with what they
 * find, is left out, its problems in `problems`.
 */
export async function discoverAwsSites(
    plan: Plan,
    sites: string[],
    lookupsOf: (site: string) => AwsLookups,
    problems: Problems,
): Promise<Record<string, { plan: AwsSitePlan; ids: AwsSiteIds }>> {
    const found = await Promise.all(sites.map((name) => discoverSite(plan.aws.sites[name], lookupsOf(name))));
    const bridgeRanges = Object.fromEntries(Object.entries(plan.sites).map(([name, site]) => [name, site.config.bridgeRange]));
    const resolved: Record<string, { plan: AwsSitePlan; ids: AwsSiteIds }> = {};
    sites.forEach((name, i) => {
        const site = resolveAwsSite(plan.aws.sites[name], found[i], bridgeRanges, problems);
        if (site) resolved[name] = site;
    });
    return resolved;
}
