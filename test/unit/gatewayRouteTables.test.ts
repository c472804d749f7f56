// Which Transit Gateway route table each attachment is associated with, and where the routes go:
// traffic between two sites crosses both gateways (each routes by the table its ingress attachment
// is associated with) with a gateway the program creates, an existing one that associates by
// default, and one whose default association is off; and the errors of a table that cannot be used.
import * as assert from "assert";
import { ConfigError } from "../../planner/problems/errors";
import { planTopology } from "../../planner/plan";
import { parseTopology } from "../../planner/topology/schema";
import {
    exampleTopology,
    FakeAws,
    find,
    plannerFiles,
    Registered,
    runProblems,
    runProgram,
    RunOptions,
    upInOrder,
} from "../support/harness";

const ASSOCIATION = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation";
const VPC_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment";
const TGW_ROUTE = "aws:ec2transitgateway/route:Route";
const FIELD = "plumr:topology.sites.ohio.aws.transitGatewayRouteTableId";
const OHIO_TGW = "tgw-0e1e2e3e4e5e6e7e8";
const OHIO_TABLE = "tgw-rtb-0c1c2c3c4c5c6c7c8";
const OHIO_DEFAULT = "tgw-rtb-0d1d2d3d4d5d6d7d8";

/** Where the gateways take what each site's VPC sends to the other's bridge range: both must end at the other site's VPC attachment. */
function crossings(cloud: FakeAws, topology: any): Record<string, string> {
    const [ohio, mumbai] = ["ohio", "mumbai"].map((site) => topology.sites[site].bridgeRange);
    const end = (hops: string[]) => hops[hops.length - 1];
    return {
        "ohio to mumbai": end(cloud.trace("ohio-tgw-vpc-id", mumbai)),
        "mumbai to ohio": end(cloud.trace("mumbai-tgw-vpc-id", ohio)),
    };
}

function crossBothWays(cloud: FakeAws, topology: any): void {
    const crossed = crossings(cloud, topology);
    assert.match(crossed["ohio to mumbai"], / -> mumbai-tgw-vpc-id$/, JSON.stringify(crossed));
    assert.match(crossed["mumbai to ohio"], / -> ohio-tgw-vpc-id$/, JSON.stringify(crossed));
}

/** The example with Ohio (the accepting site) on an existing gateway of its own. */
function onExistingGateway(table?: string): any {
    const topology = exampleTopology();
    topology.sites.ohio.aws.transitGatewayId = OHIO_TGW;
    if (table) topology.sites.ohio.aws.transitGatewayRouteTableId = table;
    return topology;
}

/** A model of AWS with Ohio's existing gateway: two tables, the second its default association table unless `associatesByDefault` is false. */
function cloudWithGateway(associatesByDefault: boolean): FakeAws {
    const cloud = new FakeAws();
    cloud.existingTransitGateway(OHIO_TGW, {
        tables: new Set([OHIO_TABLE, OHIO_DEFAULT]),
        associatesWith: associatesByDefault ? OHIO_DEFAULT : undefined,
    });
    return cloud;
}

const names = (resources: Registered[], type: string) =>
    resources
        .filter((r) => r.type === type)
        .map((r) => r.name)
        .sort();

const problemsOf = (options: RunOptions) => runProblems(options, "the program deployed with a route table it cannot use");

describe("Transit Gateway route table associations", () => {
    it("associates the requested peering, which AWS leaves alone, and routes both ways through gateways the program creates", async () => {
        const cloud = new FakeAws();
        const topology = exampleTopology();
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, aws: cloud });
        // AWS associates the VPC attachments and the acceptance with the default tables; the request is Mumbai's to associate.
        assert.deepStrictEqual(names(resources, ASSOCIATION), ["mumbai-peering-ohio-association"]);
        const association = find(resources, ASSOCIATION, "mumbai-peering-ohio-association");
        assert.deepStrictEqual(association.inputs, {
            transitGatewayAttachmentId: "mumbai-peering-ohio-id",
            transitGatewayRouteTableId: "tgw-rtb-of-mumbai-tgw-id",
        });
        // Associated once accepted, and routed once associated.
        assert.ok(association.dependsOn.includes("ohio-peering-mumbai"), JSON.stringify(association.dependsOn));
        assert.ok(find(resources, TGW_ROUTE, "mumbai-peering-ohio-route").dependsOn.includes("mumbai-peering-ohio-association"));
        crossBothWays(cloud, topology);
    });

    it("associates the request when the acceptance comes from another stack, and routes both ways", async () => {
        const topology = exampleTopology();
        const { cloud, runs } = await upInOrder(["ohio", "mumbai", "ohio", "mumbai"], { topology });
        // Requested by Mumbai's first run, accepted by Ohio's second, associated by Mumbai's second.
        assert.deepStrictEqual(
            runs.map((r) => names(r.result.resources, ASSOCIATION)),
            [[], [], [], ["mumbai-peering-ohio-association"]],
        );
        crossBothWays(cloud, topology);
    });

    it("uses an existing gateway's default association table, which AWS associates the attachments with", async () => {
        const cloud = cloudWithGateway(true);
        const topology = onExistingGateway();
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, aws: cloud });
        assert.deepStrictEqual(names(resources, ASSOCIATION), ["mumbai-peering-ohio-association"]);
        assert.strictEqual(find(resources, TGW_ROUTE, "ohio-tgw-local").inputs.transitGatewayRouteTableId, OHIO_DEFAULT);
        assert.strictEqual(find(resources, VPC_ATTACHMENT, "ohio-tgw-vpc").inputs.transitGatewayDefaultRouteTableAssociation, undefined);
        crossBothWays(cloud, topology);
    });

    it("associates both of the site's attachments with the table it names where the gateway associates nothing by itself", async () => {
        const cloud = cloudWithGateway(false);
        const topology = onExistingGateway(OHIO_TABLE);
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, aws: cloud });
        assert.deepStrictEqual(names(resources, ASSOCIATION), [
            "mumbai-peering-ohio-association",
            "ohio-peering-mumbai-association",
            "ohio-tgw-vpc-association",
        ]);
        assert.strictEqual(find(resources, VPC_ATTACHMENT, "ohio-tgw-vpc").inputs.transitGatewayDefaultRouteTableAssociation, false);
        for (const name of ["ohio-tgw-local", "ohio-peering-mumbai-route"])
            assert.strictEqual(find(resources, TGW_ROUTE, name).inputs.transitGatewayRouteTableId, OHIO_TABLE, name);
        crossBothWays(cloud, topology);
    });

    it("lets a site that only requests name a table other than the default one, and associates its VPC attachment with it", async () => {
        const cloud = new FakeAws();
        const MUMBAI_TGW = "tgw-0f1f2f3f4f5f6f7f8";
        cloud.existingTransitGateway(MUMBAI_TGW, { tables: new Set([OHIO_TABLE, OHIO_DEFAULT]), associatesWith: OHIO_DEFAULT });
        const topology = exampleTopology();
        Object.assign(topology.sites.mumbai.aws, { transitGatewayId: MUMBAI_TGW, transitGatewayRouteTableId: OHIO_TABLE });
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, aws: cloud });
        assert.deepStrictEqual(names(resources, ASSOCIATION), ["mumbai-peering-ohio-association", "mumbai-tgw-vpc-association"]);
        assert.strictEqual(find(resources, VPC_ATTACHMENT, "mumbai-tgw-vpc").inputs.transitGatewayDefaultRouteTableAssociation, false);
        crossBothWays(cloud, topology);
    });
});

describe("Transit Gateway route tables that cannot be used", () => {
    it("needs the table named where the gateway's default association is off, and says how to list them", async () => {
        const { problems, registered } = await problemsOf({ stack: "ohio", topology: onExistingGateway(), aws: cloudWithGateway(false) });
        assert.deepStrictEqual(
            problems.map((p) => [p.field, p.value]),
            [[FIELD, undefined]],
        );
        assert.match(problems[0].message, new RegExp(`Transit Gateway ${OHIO_TGW} has its default route table association off`));
        assert.match(
            problems[0].fix,
            new RegExp(`describe-transit-gateway-route-tables --filters Name=transit-gateway-id,Values=${OHIO_TGW}`),
        );
        assert.deepStrictEqual(
            registered.filter((r) => r.type.startsWith("aws:ec2")),
            [],
        );
    });

    it("refuses a table that AWS does not find, or that is another gateway's", async () => {
        const missing = await problemsOf({
            stack: "ohio",
            topology: onExistingGateway("tgw-rtb-0999999999999999a"),
            aws: cloudWithGateway(false),
        });
        assert.deepStrictEqual(
            missing.problems.map((p) => [p.field, p.value, p.message]),
            [
                [
                    FIELD,
                    "tgw-rtb-0999999999999999a",
                    "the Transit Gateway route table tgw-rtb-0999999999999999a (ec2 describe-transit-gateway-route-tables, " +
                        "transit-gateway-route-table-id) in us-east-2 finds nothing",
                ],
            ],
        );
        const cloud = cloudWithGateway(false);
        cloud.existingTransitGateway("tgw-0b1b2b3b4b5b6b7b8", { tables: new Set(["tgw-rtb-0b1b2b3b4b5b6b7b8"]) });
        const other = await problemsOf({ stack: "ohio", topology: onExistingGateway("tgw-rtb-0b1b2b3b4b5b6b7b8"), aws: cloud });
        assert.deepStrictEqual(
            other.problems.map((p) => [p.field, p.message]),
            [
                [
                    FIELD,
                    `a route table of Transit Gateway tgw-0b1b2b3b4b5b6b7b8, not of the site's ${OHIO_TGW} (the Transit Gateway route table tgw-rtb-0b1b2b3b4b5b6b7b8 (ec2 describe-transit-gateway-route-tables, transit-gateway-route-table-id))`,
                ],
            ],
        );
    });

    it("refuses another table than the default one for a site that accepts a peering, which AWS associates with the default", async () => {
        const { problems } = await problemsOf({ stack: "ohio", topology: onExistingGateway(OHIO_TABLE), aws: cloudWithGateway(true) });
        assert.deepStrictEqual(
            problems.map((p) => [p.field, p.value]),
            [[FIELD, OHIO_TABLE]],
        );
        assert.match(problems[0].message, new RegExp(`accepts from mumbai .* default association table ${OHIO_DEFAULT} by itself`));
        assert.match(problems[0].fix, new RegExp(`set it to ${OHIO_DEFAULT} or leave it out`));
    });

    it("refuses a table where the program creates the gateway, before anything is looked up", () => {
        const topology = exampleTopology();
        topology.sites.ohio.aws.transitGatewayRouteTableId = OHIO_TABLE;
        assert.throws(
            () => planTopology(parseTopology(topology), plannerFiles()),
            (err: unknown) => {
                assert.ok(err instanceof ConfigError);
                assert.deepStrictEqual(
                    err.problems.map((p) => [p.field, p.value, p.fix]),
                    [[FIELD, OHIO_TABLE, "remove it, or name the existing Transit Gateway it belongs to in transitGatewayId"]],
                );
                return true;
            },
        );
    });

    it("refuses a malformed table id, with an example", () => {
        const topology = onExistingGateway("rtb-0c1c2c3c4c5c6c7c8");
        assert.throws(
            () => planTopology(parseTopology(topology), plannerFiles()),
            (err: unknown) =>
                err instanceof ConfigError && err.problems.some((p) => p.field === FIELD && /tgw-rtb-0a1b2c3d4e5f60718/.test(p.fix)),
        );
    });
});
