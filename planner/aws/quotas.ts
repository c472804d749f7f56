// The Amazon VPC quotas a site's routing counts against, with what the site adds to each: a VPC
// route table holds 50 routes by default ("Routes per route table"), and a security group 60
// inbound rules ("Inbound or outbound rules per security group"). Both can be raised in Service
// Quotas. Each routed node adds a route to each of the nodes' and attachment subnets' route
// tables, each linked site one to the nodes' route tables, and each link and linked site an
// inbound rule to each security group. A preview warns when that gets near a default, so that
// the increase is asked for before AWS refuses a route.
import type { AwsSitePlan } from "../types";

/** An Amazon VPC quota the program counts against: its name in Service Quotas, and its default. */
export interface Quota {
    name: string;
    default: number;
    /** What of the program's the quota counts. */
    counts: string;
}

export const ROUTES_PER_ROUTE_TABLE: Quota = { name: "Routes per route table", default: 50, counts: "routes" };
export const RULES_PER_SECURITY_GROUP: Quota = {
    name: "Inbound or outbound rules per security group",
    default: 60,
    counts: "inbound rules",
};

/** The share of a default at which a preview warns: the table or group has entries of its own too. */
export const NEAR = 0.8;

/** What a site adds to one route table or security group, and why. */
export interface QuotaUse {
    quota: Quota;
    /** The route table or security group. */
    id: string;
    added: number;
    /** What adds them, e.g. "42 routed nodes, 2 linked sites". */
    from: string;
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What site `plan.site` adds to each of its route tables and security groups. */
export function quotaUses(plan: AwsSitePlan): QuotaUse[] {
    const nodes = plan.routedNodes.length;
    const peers = plan.peers.length;
    const links = plan.peers.reduce((sum, p) => sum + p.links.length, 0);
    const uses: QuotaUse[] = [];
    for (const id of plan.nodeRouteTableIds) {
        const peerRoutes = plan.peerRouteTableIds.includes(id) ? peers : 0;
        const from = [
            count(nodes, "routed node", "routed nodes"),
            ...(peerRoutes ? [count(peerRoutes, "linked site", "linked sites")] : []),
        ];
        uses.push({ quota: ROUTES_PER_ROUTE_TABLE, id, added: nodes + peerRoutes, from: from.join(", ") });
    }
    for (const id of plan.securityGroupIds) {
        const from = `${count(links, "link", "links")}, ${count(peers, "linked site", "linked sites")}`;
        uses.push({ quota: RULES_PER_SECURITY_GROUP, id, added: links + peers, from });
    }
    return uses;
}

/** A warning for each route table or security group that site `plan.site` brings near (or past) its quota's default. */
export function quotaWarnings(plan: AwsSitePlan): string[] {
    return quotaUses(plan)
        .filter((use) => use.added >= use.quota.default * NEAR)
        .map(({ quota, id, added, from }) => {
            const where = quota === ROUTES_PER_ROUTE_TABLE ? "route table" : "security group";
            // The table or group has entries of its own (a route table at least its local route).
            const past = added >= quota.default ? "beyond" : "near";
            return (
                `site ${plan.site} adds ${added} ${quota.counts} to ${where} ${id} (${from}), ${past} the default of ${quota.default} ` +
                `of the Amazon VPC quota "${quota.name}", which also counts the ${where}'s own ${quota.counts}: ` +
                `unless the account's quota is raised, AWS refuses what goes past it. Ask for an increase in Service Quotas ` +
                `(Amazon Virtual Private Cloud, "${quota.name}") before the site grows further`
            );
        });
}
