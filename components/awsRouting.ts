import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsSitePlan } from "../planner/aws";

/** What a site publishes about its AWS side, for the sites it peers with. */
export interface AwsFacts {
    region: string;
    accountId: string;
    transitGatewayId: string;
    /** Peering attachments this site requested, keyed by the accepting site. */
    peeringAttachments: Record<string, string>;
}

export interface AwsRoutingArgs {
    /** The site's AWS plan: ids, node routes, peers. */
    plan: AwsSitePlan;
    /** AWS profile for the site's account (default: the environment's credentials). */
    profile?: string;
}

/**
 * A site's AWS routing prerequisites, all in the site's region through one explicit provider:
 * a Transit Gateway attached to the VPC, each node's range routed to the node's ENI, the peers'
 * ranges routed to the Transit Gateway, each link's port opened to its peer end only, and ICMP to
 * the peers' ranges.
 * Peerings between Transit Gateways are added by `peerWith`, once the peer's facts are known.
 */
export class AwsRouting extends pulumi.ComponentResource {
    public readonly provider: aws.Provider;
    public readonly transitGatewayId: pulumi.Output<string>;
    /** The Transit Gateway's default route table, where the static routes go. */
    public readonly transitGatewayRouteTableId: pulumi.Output<string>;
    public readonly vpcAttachment: aws.ec2transitgateway.VpcAttachment;
    public readonly accountId: pulumi.Output<string>;
    /** Peering attachments this site requested, keyed by peer site. */
    public readonly requested: Record<string, pulumi.Output<string>> = {};
    private readonly plan: AwsSitePlan;

    constructor(name: string, args: AwsRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:AwsRouting", name, {}, opts);
        const plan = args.plan;
        this.plan = plan;
        this.provider = new aws.Provider(`${name}-aws`, { region: plan.region as aws.Region, profile: args.profile }, { parent: this });
        const provider = this.provider;
        const tags = { "plumr:site": plan.site, "managed-by": "pulumi" };
        this.accountId = aws.getCallerIdentityOutput({}, { provider, parent: this }).accountId;

        if (plan.existingTransitGatewayId) {
            const existing = aws.ec2transitgateway.getTransitGatewayOutput(
                { id: plan.existingTransitGatewayId },
                { provider, parent: this },
            );
            this.transitGatewayId = existing.id;
            this.transitGatewayRouteTableId = existing.associationDefaultRouteTableId;
        } else {
            const created = new aws.ec2transitgateway.TransitGateway(
                `${name}-tgw`,
                { amazonSideAsn: plan.asn, description: `plumr bridge ranges of site ${plan.site}`, tags },
                { provider, parent: this },
            );
            this.transitGatewayId = created.id;
            this.transitGatewayRouteTableId = created.associationDefaultRouteTableId;
        }
        this.vpcAttachment = new aws.ec2transitgateway.VpcAttachment(
            `${name}-tgw-vpc`,
            { transitGatewayId: this.transitGatewayId, vpcId: plan.vpcId, subnetIds: plan.subnetIds, tags },
            { provider, parent: this },
        );
        // The bridge range is not a VPC address, so the Transit Gateway learns it from this route only.
        new aws.ec2transitgateway.Route(
            `${name}-tgw-local`,
            {
                destinationCidrBlock: plan.bridgeRange,
                transitGatewayAttachmentId: this.vpcAttachment.id,
                transitGatewayRouteTableId: this.transitGatewayRouteTableId,
            },
            { provider, parent: this },
        );

        for (const node of plan.nodeRoutes) {
            const eni = aws.ec2.getInstanceOutput({ instanceId: node.instanceId }, { provider, parent: this }).networkInterfaceId;
            plan.routeTableIds.forEach((routeTableId) => {
                new aws.ec2.Route(
                    `${name}-node-${node.node}-${routeTableId}`,
                    { routeTableId, destinationCidrBlock: node.range, networkInterfaceId: eni },
                    { provider, parent: this },
                );
            });
        }

        // The instances are the cluster's, not this program's, so no aws.ec2.Instance can own the
        // attribute: a command flips it off on create and restores it on destroy.
        const shell = new command.Provider(`${name}-command`, {}, { parent: this });
        for (const instance of plan.forwardingInstances) {
            const cli = (flag: string) =>
                `aws ec2 modify-instance-attribute --region ${plan.region} --instance-id ${instance.instanceId} ${flag}`;
            new command.local.Command(
                `${name}-source-dest-check-${instance.node}`,
                {
                    create: cli("--no-source-dest-check"),
                    delete: cli("--source-dest-check"),
                    environment: args.profile ? { AWS_PROFILE: args.profile } : undefined,
                },
                { provider: shell, parent: this },
            );
        }

        for (const peer of plan.peers) {
            plan.routeTableIds.forEach((routeTableId) => {
                new aws.ec2.Route(
                    `${name}-to-${peer.site}-${routeTableId}`,
                    { routeTableId, destinationCidrBlock: peer.range, transitGatewayId: this.transitGatewayId },
                    // Deleted before the attachment it sends traffic through.
                    { provider, parent: this, dependsOn: [this.vpcAttachment] },
                );
            });
            for (const securityGroupId of plan.securityGroupIds) {
                // One rule per link, named by the link, so adding or removing a link touches only its own rule.
                for (const link of peer.links) {
                    new aws.vpc.SecurityGroupIngressRule(
                        `${name}-link-${link.link}-${securityGroupId}`,
                        {
                            securityGroupId,
                            cidrIpv4: `${link.peerAddress}/32`,
                            ipProtocol: "udp",
                            fromPort: link.port,
                            toPort: link.port,
                            description: `plumr link ${link.link} from site ${peer.site}`,
                            tags,
                        },
                        { provider, parent: this },
                    );
                }
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-from-${peer.site}-${securityGroupId}-icmp`,
                    {
                        securityGroupId,
                        cidrIpv4: peer.range,
                        ipProtocol: "icmp",
                        fromPort: -1,
                        toPort: -1,
                        description: `ICMP from site ${peer.site}`,
                        tags,
                    },
                    { provider, parent: this },
                );
            }
        }
        this.registerOutputs({ transitGatewayId: this.transitGatewayId, accountId: this.accountId });
    }

    /** The facts this site publishes for its peers; call it after `peerWith` for every peer it requests. */
    facts(): pulumi.Output<AwsFacts> {
        return pulumi.output({
            region: this.plan.region,
            accountId: this.accountId,
            transitGatewayId: this.transitGatewayId,
            peeringAttachments: pulumi.output(this.requested),
        });
    }

    /**
     * Requests or accepts the peering with `peer` and routes the peer's range through it. The
     * accepting side needs the requester's attachment id, so it waits until that is published.
     */
    peerWith(peer: string, facts: pulumi.Input<AwsFacts>): void {
        const plan = this.plan.peers.find((p) => p.site === peer);
        if (!plan?.peering) throw new Error(`site ${this.plan.site} does not peer with ${peer}`);
        const provider = this.provider;
        const name = `${this.plan.site}-peering-${peer}`;
        const remote = pulumi.output(facts);
        let attachmentId: pulumi.Output<string>;
        let attachment: pulumi.Resource;
        if (plan.peering === "requester") {
            const requested = new aws.ec2transitgateway.PeeringAttachment(
                name,
                {
                    transitGatewayId: this.transitGatewayId,
                    peerTransitGatewayId: remote.transitGatewayId,
                    peerRegion: remote.region,
                    peerAccountId: remote.accountId,
                    tags: { Name: `plumr ${this.plan.site} - ${peer}` },
                },
                { provider, parent: this },
            );
            attachmentId = requested.id;
            attachment = requested;
            this.requested[peer] = requested.id;
        } else {
            const accepted = new aws.ec2transitgateway.PeeringAttachmentAccepter(
                name,
                {
                    transitGatewayAttachmentId: remote.peeringAttachments.apply((p) => p[this.plan.site]),
                    tags: { Name: `plumr ${peer} - ${this.plan.site}` },
                },
                { provider, parent: this },
            );
            attachmentId = accepted.transitGatewayAttachmentId;
            attachment = accepted;
        }
        new aws.ec2transitgateway.Route(
            `${name}-route`,
            {
                destinationCidrBlock: plan.range,
                transitGatewayAttachmentId: attachmentId,
                transitGatewayRouteTableId: this.transitGatewayRouteTableId,
            },
            { provider, parent: this, dependsOn: [attachment] },
        );
    }
}
