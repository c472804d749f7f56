import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsFacts, AwsPeeringPlan } from "../planner/types";
import { AwsRouting } from "./awsRouting";

/** A Transit Gateway as its site publishes it. */
type Gateway = { [K in "region" | "accountId" | "transitGatewayId"]: pulumi.Input<AwsFacts[K]> };

export interface AwsPeeringArgs {
    /** The two sites, which one requests, and their ranges. */
    plan: AwsPeeringPlan;
    /** The requester's AWS routing, when this stack deploys the requesting site. */
    requester?: AwsRouting;
    /** The accepter's AWS routing, when this stack deploys the accepting site. */
    accepter?: AwsRouting;
    /**
     * The accepter's Transit Gateway as its stack publishes it, when another stack deploys the
     * accepter. Without it (or `accepter`) nothing is requested.
     */
    accepterGateway?: Gateway;
    /**
     * The attachment the requester's stack requested, when another stack deploys the requester.
     * Without it (or `requester`) nothing is accepted.
     */
    requestedAttachmentId?: pulumi.Input<string>;
    /**
     * The attachment the accepter's stack accepted, when another stack deploys the accepter. The
     * requester routes through the peering only with it: AWS refuses routes to an attachment that
     * is not `available` yet, and an accepted one is.
     */
    acceptedAttachmentId?: pulumi.Input<string>;
}

/**
 * The Transit Gateway peering of two linked sites, with the sides this stack deploys: the
 * requester's peering attachment and its route to the accepter's range, the accepter's acceptance
 * and its route to the requester's range. Each side's attachment is associated with the route
 * table its routes go to, so that what arrives through the peering is routed by that table: AWS
 * associates an acceptance with the gateway's default association table by itself, and nothing
 * else. A route or association is only made with an attachment that has been accepted: in this
 * stack, after the acceptance; across stacks, once the accepter's stack publishes it. Created after
 * both sides' AwsRouting, so it only reads them.
 */
export class AwsPeering extends pulumi.ComponentResource {
    /** The attachment requested here, when this stack deploys the requester and the accepter's gateway is known. */
    public readonly requestedAttachmentId?: pulumi.Output<string>;
    /** The attachment accepted here, when this stack deploys the accepter and the requester's attachment is known. */
    public readonly acceptedAttachmentId?: pulumi.Output<string>;

    constructor(name: string, args: AwsPeeringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:AwsPeering", name, {}, opts);
        const { requester: r, accepter: a } = args.plan;
        // Names (and, through the aliases, URNs) as when each side's peering lived in its AwsRouting.
        const requesterName = `${r.site}-peering-${a.site}`;
        const accepterName = `${a.site}-peering-${r.site}`;
        const movedFrom = (site: string) => ({ aliases: [{ parent: pulumi.createUrn(site, "plumr:site:AwsRouting") }] });
        // A Transit Gateway route table holds one route per destination, and an attachment has one
        // association, so one that must be replaced (through a new acceptance) goes before its
        // successor comes.
        const sideOptions = (side: AwsRouting, site: string, dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions => ({
            provider: side.provider,
            parent: this,
            dependsOn,
            deleteBeforeReplace: true,
            ...movedFrom(site),
        });
        /** The route to `range` through `attachmentId` in `side`'s table, made once the attachment is associated with that table. */
        const route = (
            routeName: string,
            side: AwsRouting,
            site: string,
            range: string,
            attachmentId: pulumi.Input<string>,
            after: pulumi.Resource[],
            associate: boolean,
        ) => {
            const routeTable = { transitGatewayAttachmentId: attachmentId, transitGatewayRouteTableId: side.transitGatewayRouteTableId };
            const association = associate
                ? [new aws.ec2transitgateway.RouteTableAssociation(`${routeName}-association`, routeTable, sideOptions(side, site, after))]
                : [];
            new aws.ec2transitgateway.Route(
                `${routeName}-route`,
                { ...routeTable, destinationCidrBlock: range },
                // Deleted before the association and the attachment it sends traffic through.
                sideOptions(side, site, [...after, ...association]),
            );
        };

        let attachment: aws.ec2transitgateway.PeeringAttachment | undefined;
        const accepterGateway: Gateway | undefined = args.accepter
            ? { region: args.accepter.region, accountId: args.accepter.accountId, transitGatewayId: args.accepter.transitGatewayId }
            : args.accepterGateway;
        if (args.requester && accepterGateway) {
            attachment = new aws.ec2transitgateway.PeeringAttachment(
                requesterName,
                {
                    transitGatewayId: args.requester.transitGatewayId,
                    peerTransitGatewayId: accepterGateway.transitGatewayId,
                    peerRegion: accepterGateway.region,
                    peerAccountId: accepterGateway.accountId,
                    tags: { Name: `plumr ${r.site} - ${a.site}` },
                },
                { provider: args.requester.provider, parent: this, ...movedFrom(r.site) },
            );
            this.requestedAttachmentId = attachment.id;
        }

        const requested = attachment?.id ?? args.requestedAttachmentId;
        let accepted: aws.ec2transitgateway.PeeringAttachmentAccepter | undefined;
        if (args.accepter && requested !== undefined) {
            // Completes when the attachment is available, so routes through it may follow.
            accepted = new aws.ec2transitgateway.PeeringAttachmentAccepter(
                accepterName,
                { transitGatewayAttachmentId: requested, tags: { Name: `plumr ${r.site} - ${a.site}` } },
                { provider: args.accepter.provider, parent: this, ...movedFrom(a.site) },
            );
            this.acceptedAttachmentId = accepted.transitGatewayAttachmentId;
            const accepter = args.accepter;
            route(accepterName, accepter, a.site, r.range, accepted.transitGatewayAttachmentId, [accepted], !accepter.associatesByDefault);
        }

        // The requester's route: through the acceptance made here, or the one the accepter's stack published.
        const acceptedForRequester = accepted?.transitGatewayAttachmentId ?? args.acceptedAttachmentId;
        if (args.requester && attachment && acceptedForRequester !== undefined) {
            route(
                requesterName,
                args.requester,
                r.site,
                a.range,
                acceptedForRequester,
                accepted ? [attachment, accepted] : [attachment],
                true,
            );
        }
        this.registerOutputs({ requestedAttachmentId: this.requestedAttachmentId, acceptedAttachmentId: this.acceptedAttachmentId });
    }
}
