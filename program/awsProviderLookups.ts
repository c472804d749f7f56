// A site's AWS lookups (planner/aws/found.ts) when the engine runs the program: the AWS provider's
// data sources, through the site's own provider (its region and account). The provider says "no
// matching ... found" when a lookup finds nothing, the words discovery.ts reads.
import * as aws from "@pulumi/aws";
import { AwsLookups, vpcCidrBlocks } from "../planner/aws/found";

/** The lookups of the site whose provider is `provider`. */
export function providerLookups(provider: aws.Provider): AwsLookups {
    const opts = { provider };
    return {
        async instance(instanceId) {
            const found = await aws.ec2.getInstance({ instanceId }, opts);
            return {
                subnetId: found.subnetId,
                availabilityZone: found.availabilityZone,
                networkInterfaceId: found.networkInterfaceId,
                securityGroupIds: found.vpcSecurityGroupIds,
            };
        },
        async subnet(id) {
            const found = await aws.ec2.getSubnet({ id }, opts);
            return { vpcId: found.vpcId, availabilityZone: found.availabilityZone };
        },
        async vpc(id) {
            const found = await aws.ec2.getVpc({ id }, opts);
            return { cidrBlocks: vpcCidrBlocks(found.cidrBlock, found.cidrBlockAssociations) };
        },
        async routeTables(filters) {
            return (await aws.ec2.getRouteTables({ filters }, opts)).ids;
        },
        async transitGateway(id) {
            const found = await aws.ec2transitgateway.getTransitGateway({ id }, opts);
            return {
                defaultAssociation: found.defaultRouteTableAssociation === "enable",
                defaultRouteTableId: found.associationDefaultRouteTableId || undefined,
            };
        },
        async gatewayRouteTable(id) {
            const found = await aws.ec2transitgateway.getRouteTable({ id }, opts);
            return { transitGatewayId: found.transitGatewayId };
        },
    };
}
