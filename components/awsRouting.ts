import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsPeerPlan, AwsRoutedNode, AwsSitePlan } from "../planner/types";

/** The tags the site's AWS resources carry. */
type Tags = Record<string, string>;

export interface AwsRoutingArgs {
    /** The site's AWS plan: ids, routed nodes, peers. */
    plan: AwsSitePlan;
    /** The site's region and account: every AWS resource of the site goes through it. */
    provider: aws.Provider;
    /** AWS profile for the site's account (default: the environment's credentials). */
    profile?: string;
    /** An IAM role the AWS CLI commands assume first, as the provider does, and its session's name. */
    role?: { roleArn: string; sessionName: string };
    /** Runs the AWS CLI commands that turn the nodes' source/destination checks off and back on. */
    commands: command.Provider;
}

/**
 * A site's AWS routing prerequisites, all in the site's region through one explicit provider: a
 * Transit Gateway attached to the VPC, each routed node's range sent to the node's primary network
 * interface in the nodes' and the attachment subnets' route tables (with that interface's
 * source/destination check off), the peers' ranges sent to the Transit Gateway, each link's port
 * opened to its peer end only, and ICMP to the peers' ranges. The peerings between Transit
 * Gateways are AwsPeering components of their own.
 */
export class AwsRouting extends pulumi.ComponentResource {
    public readonly provider: aws.Provider;
    public readonly region: string;
    public readonly transitGatewayId: pulumi.Output<string>;
    /** The route table the site's attachments are associated with, where its static routes go. */
    public readonly transitGatewayRouteTableId: pulumi.Output<string>;
    /**
     * Whether AWS associates the gateway's new attachments with that table by itself (it is the
     * default association table): then an accepted peering is associated already, else the
     * acceptance is associated explicitly. A requested peering is associated explicitly either way.
     */
    public readonly associatesByDefault: boolean;
    public readonly vpcAttachment: aws.ec2transitgateway.VpcAttachment;
    public readonly accountId: pulumi.Output<string>;

    constructor(name: string, args: AwsRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:AwsRouting", name, {}, opts);
        const plan = args.plan;
        this.region = plan.region;
        this.provider = args.provider;
        const tags = { "plumr:site": plan.site, "managed-by": "pulumi" };
        this.accountId = aws.getCallerIdentityOutput({}, { provider: this.provider, parent: this }).accountId;

        const gateway = this.transitGateway(name, plan, tags);
        this.transitGatewayId = gateway.id;
        this.transitGatewayRouteTableId = gateway.routeTableId;
        this.associatesByDefault = plan.existingTransitGateway?.associatesByDefault ?? true;
        this.vpcAttachment = this.attachVpc(name, plan, tags);
        for (const node of plan.routedNodes) this.routeToNode(name, node, args);
        for (const peer of plan.peers) this.routeToPeer(name, peer, plan, tags);
        this.registerOutputs({
            transitGatewayId: this.transitGatewayId,
            transitGatewayRouteTableId: this.transitGatewayRouteTableId,
            accountId: this.accountId,
        });
    }

    /** The site's Transit Gateway and its route table: the ones the plan names, else a gateway of its own and its default table. */
    private transitGateway(
        name: string,
        plan: AwsSitePlan,
        tags: Tags,
    ): { id: pulumi.Output<string>; routeTableId: pulumi.Output<string> } {
        const provider = this.provider;
        const existing = plan.existingTransitGateway;
        if (existing) return { id: pulumi.output(existing.id), routeTableId: pulumi.output(existing.routeTableId) };
        const created = new aws.ec2transitgateway.TransitGateway(
            `${name}-tgw`,
            { amazonSideAsn: plan.asn, description: `plumr bridge ranges of site ${plan.site}`, tags },
            { provider, parent: this },
        );
        return { id: created.id, routeTableId: created.associationDefaultRouteTableId };
    }

    /**
     * Attaches the Transit Gateway to the site's VPC, associated with the site's route table, and
     * routes the site's bridge range through that attachment.
     */
    private attachVpc(name: string, plan: AwsSitePlan, tags: Tags): aws.ec2transitgateway.VpcAttachment {
        const provider = this.provider;
        const attachment = new aws.ec2transitgateway.VpcAttachment(
            `${name}-tgw-vpc`,
            {
                transitGatewayId: this.transitGatewayId,
                vpcId: plan.vpcId,
                subnetIds: plan.attachmentSubnetIds,
                // Left to AWS where the site's table is the default association table; else associated below.
                ...(this.associatesByDefault ? {} : { transitGatewayDefaultRouteTableAssociation: false }),
                tags,
            },
            { provider, parent: this },
        );
        if (!this.associatesByDefault) {
            new aws.ec2transitgateway.RouteTableAssociation(
                `${name}-tgw-vpc-association`,
                { transitGatewayAttachmentId: attachment.id, transitGatewayRouteTableId: this.transitGatewayRouteTableId },
                { provider, parent: this },
            );
        }
        // The bridge range is not a VPC address, so the Transit Gateway learns it from this route only.
        // A table holds one route per destination, so a replacement must wait for its predecessor to go.
        new aws.ec2transitgateway.Route(
            `${name}-tgw-local`,
            {
                destinationCidrBlock: plan.bridgeRange,
                transitGatewayAttachmentId: attachment.id,
                transitGatewayRouteTableId: this.transitGatewayRouteTableId,
            },
            { provider, parent: this, deleteBeforeReplace: true },
        );
        return attachment;
    }

    /** Sends a routed node's range to its primary network interface, and lets that interface forward. */
    private routeToNode(name: string, node: AwsRoutedNode, args: AwsRoutingArgs): void {
        const { plan, profile, role } = args;
        const provider = this.provider;
        // The instance's primary interface (device 0): the node's own traffic, the bridge's included, uses it.
        const networkInterfaceId = node.networkInterfaceId;
        // The instances are the cluster's, not this program's, so no AWS resource of ours can own
        // the attribute: a command turns it off on create and back on on destroy. It is set on
        // the network interface the routes use: EC2 refuses the instance attribute on an
        // instance with several interfaces, which EKS nodes with the VPC CNI have.
        const forwarding = new command.local.Command(
            `${name}-source-dest-check-${node.node}`,
            {
                create: asRole(role, sourceDestCheck(plan.region, networkInterfaceId, false)),
                delete: asRole(role, sourceDestCheck(plan.region, networkInterfaceId, true)),
                environment: profile ? { AWS_PROFILE: profile } : undefined,
            },
            { provider: args.commands, parent: this },
        );
        for (const routeTableId of plan.nodeRouteTableIds) {
            new aws.ec2.Route(
                `${name}-node-${node.node}-${routeTableId}`,
                { routeTableId, destinationCidrBlock: node.range, networkInterfaceId },
                // Routed only to an interface that forwards, and removed before it stops forwarding.
                { provider, parent: this, dependsOn: [forwarding] },
            );
        }
    }

    /** Sends a peer's range to the Transit Gateway, and lets in its links' traffic and its ICMP. */
    private routeToPeer(name: string, peer: AwsPeerPlan, plan: AwsSitePlan, tags: Tags): void {
        const provider = this.provider;
        for (const routeTableId of plan.peerRouteTableIds) {
            new aws.ec2.Route(
                `${name}-to-${peer.site}-${routeTableId}`,
                { routeTableId, destinationCidrBlock: peer.range, transitGatewayId: this.transitGatewayId },
                // Deleted before the attachment it sends traffic through.
                { provider, parent: this, dependsOn: [this.vpcAttachment] },
            );
        }
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
}

/**
 * `script`, run with the credentials of `role` when there is one: `aws sts assume-role` once, from
 * the profile's or the shell's credentials, then the script with the role's temporary credentials
 * in the environment (and no profile, which the AWS CLI would prefer to them). A role that cannot
 * be assumed fails the command with STS's words and the setting to check, never a run under other
 * credentials.
 */
export function asRole(role: { roleArn: string; sessionName: string } | undefined, script: string): string {
    if (!role) return script;
    const quote = (text: string) => "'" + text.replace(/'/g, "'\\''") + "'";
    const [arn, session] = [quote(role.roleArn), quote(role.sessionName)];
    const query = "[Credentials.AccessKeyId,Credentials.SecretAccessKey,Credentials.SessionToken]";
    return [
        `credentials=$(aws sts assume-role --role-arn ${arn} --role-session-name ${session} --query '${query}' --output text 2>&1) || {`,
        `  printf 'could not assume role %s (awsRoleArn of the site in plumr:access): %s\\n' ${arn} "$credentials" >&2; exit 1; }`,
        `set -- $credentials`,
        `export AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$2" AWS_SESSION_TOKEN="$3"`,
        `unset AWS_PROFILE`,
        script,
    ].join("\n");
}

/**
 * The AWS CLI command that turns network interface `eni`'s source/destination check on (`on`) or
 * off. Turning it back on runs when the command resource is deleted: after a node was replaced, its
 * interface is gone with its instance, and EC2 answers InvalidNetworkInterfaceID.NotFound; that
 * delete succeeds, and says so, so that no later run is stuck retrying it. Any other error fails it.
 */
export function sourceDestCheck(region: string, eni: string, on: boolean): string {
    const cli = `aws ec2 modify-network-interface-attribute --region ${region} --network-interface-id ${eni}`;
    if (!on) return `${cli} --no-source-dest-check`;
    return [
        `out=$(${cli} --source-dest-check 2>&1); status=$?`,
        `case "$status:$out" in`,
        `0:*) ;;`,
        `*"(InvalidNetworkInterfaceID.NotFound)"*) echo "network interface ${eni} no longer exists (InvalidNetworkInterfaceID.NotFound): nothing to turn back on"; status=0 ;;`,
        `*) printf '%s\\n' "$out" >&2 ;;`,
        `esac`,
        `exit $status`,
    ].join("\n");
}
