// The AWS side of a stack: the command providers that run the AWS CLI, each routed site's routing,
// and the Transit Gateway peerings. A module of its own, loaded only by a stack that routes a site
// through AWS.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsPeering } from "../components/awsPeering";
import { AwsRouting } from "../components/awsRouting";
import { peeringStep } from "../planner/aws/aws";
import type { Plan } from "../planner/types";
import type { AwsFacts } from "../planner/types";
import type { SiteAccess } from "../planner/topology/stackSettings";
import type { PeerStacks } from "./peerStacks";

/** One command provider per routed site: it runs the AWS CLI. */
export function commandProviders(routed: string[]): Record<string, command.Provider> {
    const commands: Record<string, command.Provider> = {};
    for (const name of routed) {
        commands[name] = new command.Provider(
            `${name}-command`,
            {},
            { aliases: [{ parent: pulumi.createUrn(name, "plumr:site:AwsRouting") }] },
        );
    }
    return commands;
}

/**
 * The AWS routing of every managed site with `routing: transitGateway`, then the peering of every
 * linked pair that this stack deploys a side of. A side in another stack is read from what that
 * stack publishes: the requester requests once the accepter's Transit Gateway is published, the
 * accepter accepts once the request is, and the requester routes once the acceptance is; until
 * then the run says which stack to deploy next. Returns the facts each managed site publishes.
 */
export async function deployAws(
    plan: Plan,
    managed: string[],
    access: Record<string, SiteAccess>,
    commands: Record<string, command.Provider>,
    peers: Pick<PeerStacks, "stackName" | "awsFacts">,
): Promise<Record<string, pulumi.Output<AwsFacts>>> {
    const routing: Record<string, AwsRouting> = {};
    for (const name of managed) {
        const site = plan.aws.sites[name];
        if (site) routing[name] = new AwsRouting(name, { plan: site, profile: access[name].awsProfile, commands: commands[name] });
    }
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
