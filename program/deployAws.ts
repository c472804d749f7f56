// The AWS side of a stack: each routed site's providers (AWS, and the commands that run the AWS
// CLI), what the site's plan needs from AWS, the site's routing, and the Transit Gateway peerings.
// A module of its own, loaded only by a stack that routes a site through AWS.
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsPeering } from "../components/awsPeering";
import { AwsRouting } from "../components/awsRouting";
import { peeringStep } from "../planner/aws/aws";
import { quotaWarnings } from "../planner/aws/quotas";
import { Problems } from "../planner/problems/errors";
import type { AwsFacts, AwsSitePlan, Plan } from "../planner/types";
import { awsSessionName, type SiteAccess } from "../planner/topology/stackSettings";
import { providerLookups } from "./awsProviderLookups";
import { discoverAwsSites } from "./discoverAws";
import type { PeerStacks } from "./peerStacks";

/** A routed site, ready to deploy: its plan, with what was found in AWS, and its providers. */
export interface AwsSide {
    plan: AwsSitePlan;
    /** The site's region and account: every lookup and AWS resource of the site goes through it. */
    provider: aws.Provider;
    /** Runs the AWS CLI commands that turn the nodes' source/destination checks off and back on. */
    commands: command.Provider;
    /** AWS profile for the site's account (default: the environment's credentials). */
    profile?: string;
    /** The IAM role the site's provider and commands assume (plumr:access.<site>.awsRoleArn), and its session's name. */
    role?: { roleArn: string; sessionName: string };
}

/**
 * Each routed site's providers, then what its plan needs from AWS, looked up through its own
 * provider (every site at once), resolved with the topology's pins (planner/aws/discovery.ts).
 * Throws one ConfigError with every site's problems (a lookup that found nothing or too much, a pin
 * that disagrees with what was found) before any resource that changes something is registered.
 * Says what it found, and warns of route tables and security groups near their quotas.
 */
export async function discoverAws(plan: Plan, routed: string[], access: Record<string, SiteAccess>): Promise<Record<string, AwsSide>> {
    // Registered before the site's AwsRouting, since its lookups need them; under an alias of their
    // place as its children, so that a deployed stack keeps them rather than replacing them.
    const formerly = (name: string) => ({ aliases: [{ parent: pulumi.createUrn(name, "plumr:site:AwsRouting") }] });
    const sides = routed.map((name) => {
        const { region } = plan.aws.sites[name];
        const { awsProfile: profile, awsRoleArn: roleArn } = access[name];
        const role = roleArn ? { roleArn, sessionName: awsSessionName(name) } : undefined;
        const provider = new aws.Provider(
            `${name}-aws`,
            { region: region as aws.Region, profile, ...(role && { assumeRoles: [role] }) },
            formerly(name),
        );
        return { name, provider, profile, role, commands: new command.Provider(`${name}-command`, {}, formerly(name)) };
    });
    const problems = new Problems();
    const providers = Object.fromEntries(sides.map(({ name, provider }) => [name, provider]));
    const resolved = await discoverAwsSites(plan, routed, (name) => providerLookups(providers[name]), problems);
    const ready: Record<string, AwsSide> = {};
    for (const { name, ...side } of sides) if (resolved[name]) ready[name] = { plan: resolved[name].plan, ...side };
    problems.throwIfAny();
    for (const { plan: p } of Object.values(ready)) {
        pulumi.log.info(
            `site ${p.site}: VPC ${p.vpcId}, route tables ${p.nodeRouteTableIds.join(", ")}, attachment subnets ` +
                `${p.attachmentSubnetIds.join(", ")}, security groups ${p.securityGroupIds.join(", ") || "none"}`,
        );
        for (const warning of quotaWarnings(p)) pulumi.log.warn(warning);
    }
    return ready;
}

/**
 * The AWS routing of every managed site with `routing: transitGateway` (`sides`, from discoverAws),
 * then the peering of every linked pair that this stack deploys a side of. A side in another stack is read from what that
 * stack publishes: the requester requests once the accepter's Transit Gateway is published, the
 * accepter accepts once the request is, and the requester routes once the acceptance is; until
 * then the run says which stack to deploy next. Returns the facts each managed site publishes.
 */
export async function deployAws(
    plan: Plan,
    sides: Record<string, AwsSide>,
    peers: Pick<PeerStacks, "stackName" | "awsFacts">,
): Promise<Record<string, pulumi.Output<AwsFacts>>> {
    const routing: Record<string, AwsRouting> = {};
    for (const [name, side] of Object.entries(sides)) routing[name] = new AwsRouting(name, side);
    const requested: Record<string, Record<string, pulumi.Output<string>>> = {};
    const accepted: Record<string, Record<string, pulumi.Output<string>>> = {};
    for (const name of Object.keys(routing)) [requested[name], accepted[name]] = [{}, {}];

    for (const peering of plan.aws.peerings) {
        const [r, a] = [peering.requester.site, peering.accepter.site];
        if (!routing[r] && !routing[a]) continue;
        const elsewhere = [r, a].find((site) => !routing[site]);
        const step = peeringStep(peering, (site) => site in routing, elsewhere ? await peers.awsFacts(elsewhere) : undefined);
        if (step.waitingFor) {
            pulumi.log.warn(
                `${step.waitingFor.reason}. Run pulumi up on stack ${peers.stackName(step.waitingFor.site)}, then on this one again.`,
            );
        }
        const component = new AwsPeering(`peering-${peering.name}`, {
            plan: peering,
            requester: routing[r],
            accepter: routing[a],
            accepterGateway: step.accepterGateway,
            requestedAttachmentId: step.requestedAttachmentId,
            acceptedAttachmentId: step.acceptedAttachmentId,
        });
        if (component.requestedAttachmentId) requested[r][a] = component.requestedAttachmentId;
        if (component.acceptedAttachmentId) accepted[a][r] = component.acceptedAttachmentId;
    }

    const facts: Record<string, pulumi.Output<AwsFacts>> = {};
    for (const [name, site] of Object.entries(routing)) {
        facts[name] = pulumi.output({
            region: site.region,
            accountId: site.accountId,
            transitGatewayId: site.transitGatewayId,
            peeringAttachments: requested[name],
            acceptedPeerings: accepted[name],
        });
    }
    return facts;
}
