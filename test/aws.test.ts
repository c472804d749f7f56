// AWS routing prerequisites: planner validation, and the resources under mocks for per-site
// stacks (both orders) and a two-site stack.
import * as assert from "assert";
import { planAws } from "../planner/aws";
import { ConfigError } from "../planner/errors";
import { planTopology } from "../planner/plan";
import { parseTopology } from "../planner/topology";
import { exampleTopology, find, plannerFiles, Registered, runProgram } from "./harness";

const plan = (topology: any) => planTopology(parseTopology(topology), plannerFiles());

function problemFields(topology: any): string[] {
    try {
        plan(topology);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems.map((p) => p.field);
    }
    return [];
}

const isAws = (r: Registered) =>
    r.type.startsWith("aws:") ||
    r.type.startsWith("command:") ||
    r.type.startsWith("pulumi:providers:aws") ||
    r.type.startsWith("pulumi:providers:command");
const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
const PEERING = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment";
const ACCEPTER = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter";
const TGW_ROUTE = "aws:ec2transitgateway/route:Route";

/** What a deployed stack publishes about its AWS side. */
function publishedAws(site: string, aws: Record<string, unknown>) {
    return { sites: { [site]: { aws: { peeringAttachments: {}, ...aws } } } };
}

describe("AWS planning", () => {
    const S = "plumr:topology.sites";

    it("accepts the shipped example and picks the requester by site name", () => {
        const aws = planAws(plan(exampleTopology()));
        assert.deepStrictEqual(Object.keys(aws).sort(), ["mumbai", "ohio"]);
        assert.deepStrictEqual(aws.mumbai.peers, [
            {
                site: "ohio",
                range: "10.10.0.0/16",
                links: [{ link: "ohio-mumbai", port: 5000, peerAddress: "10.10.1.200" }],
                peering: "requester",
            },
        ]);
        assert.deepStrictEqual(aws.ohio.peers, [
            {
                site: "mumbai",
                range: "10.20.0.0/16",
                links: [{ link: "ohio-mumbai", port: 5000, peerAddress: "10.20.1.200" }],
                peering: "accepter",
            },
        ]);
        assert.deepStrictEqual(aws.ohio.forwardingInstances, [
            { node: "ip-10-0-154-10.us-east-2.compute.internal", instanceId: "i-0a10000000000001a" },
        ]);
        assert.strictEqual(aws.ohio.nodeRoutes.length, 2);
    });

    it("rejects malformed ids, each by its field", () => {
        const t = exampleTopology();
        Object.assign(t.sites.ohio.aws, {
            vpcId: "vpc-XYZ",
            routeTableIds: ["rt-1"],
            subnetIds: ["subnet-12"],
            securityGroupIds: ["sg_0a10000000"],
        });
        t.sites.ohio.nodes[1].instanceId = "0a10000000000002a";
        t.sites.ohio.aws.transitGatewayId = "tgw-0a1";
        assert.deepStrictEqual(problemFields(t).sort(), [
            `${S}.ohio.aws.routeTableIds[0]`,
            `${S}.ohio.aws.securityGroupIds[0]`,
            `${S}.ohio.aws.subnetIds[0]`,
            `${S}.ohio.aws.transitGatewayId`,
            `${S}.ohio.aws.vpcId`,
            `${S}.ohio.nodes[1].instanceId`,
        ]);
    });

    it("needs an instance id for every node that hosts an endpoint, and the attachment subnets", () => {
        const t = exampleTopology();
        delete t.sites.mumbai.nodes[0].instanceId;
        delete t.sites.mumbai.nodes[1].instanceId; // hosts no endpoint: fine
        t.sites.mumbai.aws.subnetIds = [];
        assert.deepStrictEqual(problemFields(t).sort(), [`${S}.mumbai.aws.subnetIds`, `${S}.mumbai.nodes[0].instanceId`]);
    });

    it("rejects a bridge range that overlaps either VPC's CIDR", () => {
        const t = exampleTopology();
        t.sites.mumbai.aws.vpcCidr = "10.10.0.0/20"; // Ohio's bridge range
        assert.deepStrictEqual(problemFields(t), [`${S}.ohio.bridgeRange`]);
    });

    it("rejects a region that is not an AWS region name", () => {
        const t = exampleTopology();
        t.sites.ohio.aws.region = "ohio";
        assert.deepStrictEqual(problemFields(t), [`${S}.ohio.aws.region`]);
    });

    it("rejects VPC peering and says why", () => {
        const t = exampleTopology();
        t.sites.ohio.aws.routing = "vpcPeering";
        try {
            plan(t);
            assert.fail("accepted vpcPeering");
        } catch (err) {
            const [problem] = (err as ConfigError).problems;
            assert.strictEqual(problem.field, `${S}.ohio.aws.routing`);
            assert.match(problem.message, /only forwards addresses inside the peer VPC's CIDR blocks/);
        }
    });

    it("checks no ids with routing: none", () => {
        const t = exampleTopology();
        t.sites.ohio.aws = { region: "us-east-2", routing: "none" };
        assert.deepStrictEqual(problemFields(t), []);
        assert.deepStrictEqual(Object.keys(planAws(plan(t))), ["mumbai"]);
    });
});

describe("AWS routing in a stack that manages both sites", () => {
    let resources: Registered[];
    let sites: any;
    before(async () => {
        ({ resources, sites } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"] }));
    });

    it("has one AWS provider per site region and sends each AWS resource through its own site's", () => {
        const providers = ofType(resources, "pulumi:providers:aws");
        assert.deepStrictEqual(providers.map((p) => [p.name, p.inputs.region]).sort(), [
            ["mumbai-aws", "ap-south-1"],
            ["ohio-aws", "us-east-2"],
        ]);
        const awsResources = resources.filter((r) => r.type.startsWith("aws:"));
        assert.ok(awsResources.length > 10);
        for (const r of awsResources) assert.strictEqual(r.provider, `${r.name.split("-")[0]}-aws`, `${r.type} ${r.name}`);
    });

    it("peers the Transit Gateways: Mumbai requests, Ohio accepts", () => {
        const request = find(resources, PEERING, "mumbai-peering-ohio").inputs;
        assert.strictEqual(request.transitGatewayId, "mumbai-tgw-id");
        assert.strictEqual(request.peerTransitGatewayId, "ohio-tgw-id");
        assert.strictEqual(request.peerRegion, "us-east-2");
        assert.strictEqual(request.peerAccountId, "account-of-ohio-aws");
        assert.strictEqual(find(resources, ACCEPTER, "ohio-peering-mumbai").inputs.transitGatewayAttachmentId, "mumbai-peering-ohio-id");
        assert.strictEqual(ofType(resources, PEERING).length, 1);
    });

    it("routes each range where it belongs", () => {
        const tgwRoutes = Object.fromEntries(ofType(resources, TGW_ROUTE).map((r) => [r.name, r.inputs.destinationCidrBlock]));
        assert.deepStrictEqual(tgwRoutes, {
            "ohio-tgw-local": "10.10.0.0/16",
            "mumbai-tgw-local": "10.20.0.0/16",
            "mumbai-peering-ohio-route": "10.10.0.0/16",
            "ohio-peering-mumbai-route": "10.20.0.0/16",
        });
        const vpcRoutes = ofType(resources, "aws:ec2/route:Route").filter((r) => r.name.startsWith("ohio-"));
        const byDestination = Object.fromEntries(
            vpcRoutes.map((r) => [r.inputs.destinationCidrBlock, r.inputs.networkInterfaceId ?? r.inputs.transitGatewayId]),
        );
        assert.deepStrictEqual(byDestination, {
            "10.10.1.0/24": "eni-of-i-0a10000000000001a",
            "10.10.2.0/24": "eni-of-i-0a10000000000002a",
            "10.20.0.0/16": "ohio-tgw-id",
        });
        for (const r of vpcRoutes) assert.strictEqual(r.inputs.routeTableId, "rtb-0a10000000000000a");
    });

    it("orders destroy safely: routes go before the attachments they use", () => {
        const toPeer = find(resources, "aws:ec2/route:Route", "ohio-to-mumbai-rtb-0a10000000000000a");
        assert.ok(toPeer.dependsOn.includes("ohio-tgw-vpc"), JSON.stringify(toPeer.dependsOn));
        assert.ok(find(resources, TGW_ROUTE, "ohio-tgw-local").dependsOn.includes("ohio-tgw-vpc"));
        assert.ok(find(resources, TGW_ROUTE, "ohio-peering-mumbai-route").dependsOn.includes("ohio-peering-mumbai"));
        assert.ok(find(resources, TGW_ROUTE, "mumbai-peering-ohio-route").dependsOn.includes("mumbai-peering-ohio"));
    });

    it("opens each link's port to its peer end only, and ICMP to the peer's range", () => {
        const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) =>
            r.name.startsWith("ohio-"),
        );
        assert.deepStrictEqual(
            rules.map((r) => [r.inputs.securityGroupId, r.inputs.cidrIpv4, r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort]),
            [
                ["sg-0a10000000000000a", "10.20.1.200/32", "udp", 5000, 5000],
                ["sg-0a10000000000000a", "10.20.0.0/16", "icmp", -1, -1],
            ],
        );
    });

    it("turns source/destination checks off on endpoint nodes and restores them on destroy", () => {
        const checks = ofType(resources, "command:local:Command");
        assert.deepStrictEqual(checks.map((c) => c.name).sort(), [
            "mumbai-source-dest-check-ip-10-1-241-95.ap-south-1.compute.internal",
            "ohio-source-dest-check-ip-10-0-154-10.us-east-2.compute.internal",
        ]);
        const ohio = checks.find((c) => c.name.startsWith("ohio-"))!;
        assert.strictEqual(
            ohio.inputs.create,
            "aws ec2 modify-instance-attribute --region us-east-2 --instance-id i-0a10000000000001a --no-source-dest-check",
        );
        assert.strictEqual(
            ohio.inputs.delete,
            "aws ec2 modify-instance-attribute --region us-east-2 --instance-id i-0a10000000000001a --source-dest-check",
        );
        assert.strictEqual(ohio.provider, "ohio-command");
    });

    it("publishes the ids a peer stack needs", () => {
        assert.deepStrictEqual(sites.mumbai.aws, {
            region: "ap-south-1",
            accountId: "account-of-mumbai-aws",
            transitGatewayId: "mumbai-tgw-id",
            peeringAttachments: { ohio: "mumbai-peering-ohio-id" },
        });
        assert.deepStrictEqual(sites.ohio.aws.peeringAttachments, {});
    });
});

describe("AWS peering across two per-site stacks", () => {
    const ohioPublished = publishedAws("ohio", { region: "us-east-2", accountId: "111111111111", transitGatewayId: "tgw-0ohio" });
    const mumbaiPublished = publishedAws("mumbai", {
        region: "ap-south-1",
        accountId: "222222222222",
        transitGatewayId: "tgw-0mumbai",
        peeringAttachments: { ohio: "tgw-attach-0mumbaiohio" },
    });

    it("Ohio first: it deploys its own side and waits for Mumbai's request", async () => {
        const { resources, sites } = await runProgram({ stack: "ohio" });
        assert.strictEqual(ofType(resources, ACCEPTER).length, 0);
        assert.strictEqual(ofType(resources, PEERING).length, 0);
        assert.ok(ofType(resources, "aws:ec2transitgateway/transitGateway:TransitGateway").length === 1);
        assert.strictEqual(sites.ohio.aws.transitGatewayId, "ohio-tgw-id");
    });

    it("then Mumbai requests the peering with Ohio's published Transit Gateway", async () => {
        const { resources, sites } = await runProgram({ stack: "mumbai", stackOutputs: { "organization/plumr/ohio": ohioPublished } });
        const request = find(resources, PEERING, "mumbai-peering-ohio").inputs;
        assert.deepStrictEqual(
            [request.peerTransitGatewayId, request.peerRegion, request.peerAccountId],
            ["tgw-0ohio", "us-east-2", "111111111111"],
        );
        assert.deepStrictEqual(sites.mumbai.aws.peeringAttachments, { ohio: "mumbai-peering-ohio-id" });
        for (const r of resources.filter((x) => x.type.startsWith("aws:"))) assert.strictEqual(r.provider, "mumbai-aws");
    });

    it("then Ohio accepts the attachment Mumbai published and routes through it", async () => {
        const { resources } = await runProgram({ stack: "ohio", stackOutputs: { "organization/plumr/mumbai": mumbaiPublished } });
        assert.strictEqual(find(resources, ACCEPTER, "ohio-peering-mumbai").inputs.transitGatewayAttachmentId, "tgw-attach-0mumbaiohio");
        const route = find(resources, TGW_ROUTE, "ohio-peering-mumbai-route");
        assert.deepStrictEqual([route.inputs.destinationCidrBlock, route.provider], ["10.20.0.0/16", "ohio-aws"]);
    });

    it("Mumbai first: it cannot request before Ohio publishes its Transit Gateway", async () => {
        const { resources } = await runProgram({ stack: "mumbai" });
        assert.strictEqual(ofType(resources, PEERING).length, 0);
        assert.ok(ofType(resources, "aws:ec2/route:Route").some((r) => r.inputs.destinationCidrBlock === "10.10.0.0/16"));
    });
});

describe("an existing Transit Gateway", () => {
    it("is used instead of a new one, with its own route table", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.aws.transitGatewayId = "tgw-0e1e2e3e4e5e6e7e8";
        const { resources, sites } = await runProgram({ stack: "ohio", topology });
        assert.strictEqual(ofType(resources, "aws:ec2transitgateway/transitGateway:TransitGateway").length, 0);
        const attachment = find(resources, "aws:ec2transitgateway/vpcAttachment:VpcAttachment", "ohio-tgw-vpc").inputs;
        assert.strictEqual(attachment.transitGatewayId, "tgw-0e1e2e3e4e5e6e7e8");
        assert.strictEqual(
            find(resources, TGW_ROUTE, "ohio-tgw-local").inputs.transitGatewayRouteTableId,
            "tgw-rtb-of-tgw-0e1e2e3e4e5e6e7e8",
        );
        assert.strictEqual(sites.ohio.aws.transitGatewayId, "tgw-0e1e2e3e4e5e6e7e8");
    });
});

describe("routing: none", () => {
    it("creates no AWS resource at all", async () => {
        const topology = exampleTopology();
        for (const site of Object.values<any>(topology.sites)) site.aws = { region: site.aws.region, routing: "none" };
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology });
        assert.deepStrictEqual(resources.filter(isAws), []);
        assert.ok(resources.some((r) => r.type === "kubernetes:apps/v1:Deployment"));
    });
});
