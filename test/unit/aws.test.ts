// AWS routing: planner validation, the nodes' instances, and the resources under mocks backed by a model
// of AWS that refuses what AWS refuses: a two-site stack, the documented run order of two per-site
// stacks (both first), destroy, an existing Transit Gateway and routing: none.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { asRole, sourceDestCheck } from "../../components/awsRouting";
import { peeringStep } from "../../planner/aws/aws";
import { ConfigError } from "../../planner/problems/errors";
import { parseProviderId } from "../../planner/cluster/facts";
import { planTopology } from "../../planner/plan";
import { parseTopology } from "../../planner/topology/schema";
import {
    AwsRefusal,
    exampleTopology,
    FakeAws,
    find,
    plannerFiles,
    Registered,
    runProgram,
    RunOptions,
    topologyNodes,
    upInOrder,
    withoutAwsIds,
} from "../support/harness";

const plan = (topology: any) => planTopology(parseTopology(topology), plannerFiles());

function problemsOf(topology: any): ConfigError["problems"] {
    try {
        plan(topology);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems;
    }
    return [];
}
const problemFields = (topology: any) => problemsOf(topology).map((p) => p.field);

const isAws = (r: Registered) =>
    r.type.startsWith("aws:") ||
    r.type.startsWith("command:") ||
    r.type.startsWith("pulumi:providers:aws") ||
    r.type.startsWith("pulumi:providers:command");
const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
const PEERING = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment";
const ACCEPTER = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter";
const TGW_ROUTE = "aws:ec2transitgateway/route:Route";
const ASSOCIATION = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation";
const VPC_ROUTE = "aws:ec2/route:Route";
const COMMAND = "command:local:Command";

const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";
const OHIO_NODE_2 = "ip-10-0-171-33.us-east-2.compute.internal";
const S = "plumr:topology.sites";

describe("AWS planning", () => {
    it("accepts the shipped example and picks the requester by site name", () => {
        const { aws } = plan(exampleTopology());
        assert.deepStrictEqual(Object.keys(aws.sites).sort(), ["mumbai", "ohio"]);
        assert.deepStrictEqual(aws.peerings, [
            {
                name: "mumbai-ohio",
                requester: { site: "mumbai", region: "ap-south-1", range: "10.20.0.0/16" },
                accepter: { site: "ohio", region: "us-east-2", range: "10.10.0.0/16" },
            },
        ]);
        assert.deepStrictEqual(aws.sites.mumbai.peers, [
            {
                site: "ohio",
                range: "10.10.0.0/16",
                links: [{ link: "ohio-mumbai", port: 5000, peerAddress: "10.10.1.200" }],
                peering: "requester",
            },
        ]);
        assert.deepStrictEqual(aws.sites.ohio.peers, [
            {
                site: "mumbai",
                range: "10.20.0.0/16",
                links: [{ link: "ohio-mumbai", port: 5000, peerAddress: "10.20.1.200" }],
                peering: "accepter",
            },
        ]);
    });

    it("routes and forwards one set of nodes: every node with an instance id, endpoint or not", () => {
        const t = exampleTopology();
        delete t.sites.mumbai.nodes[2].instanceId;
        const { aws } = plan(t);
        assert.deepStrictEqual(
            aws.sites.ohio.routedNodes.map((n) => [n.node, n.range, n.instanceId, n.availabilityZone]),
            [
                [OHIO_NODE, "10.10.1.0/24", "i-0a10000000000001a", "us-east-2a"],
                [OHIO_NODE_2, "10.10.2.0/24", "i-0a10000000000002a", "us-east-2b"],
            ],
        );
        assert.deepStrictEqual(
            aws.sites.mumbai.routedNodes.map((n) => n.index),
            [0, 1],
        );
    });

    it("keeps the ids the topology writes as pins, and leaves the rest to be found in AWS", () => {
        const { aws } = plan(exampleTopology());
        assert.deepStrictEqual(aws.sites.ohio.pins.routeTableIds, ["rtb-0a10000000000000a"]);
        assert.strictEqual(aws.sites.ohio.pins.vpcId, "vpc-0a10000000000000a");
        const t = exampleTopology();
        t.sites.ohio.aws = { region: "us-east-2" };
        assert.deepStrictEqual(plan(t).aws.sites.ohio.pins, {
            vpcId: undefined,
            vpcCidr: undefined,
            routeTableIds: undefined,
            attachmentSubnets: undefined,
            securityGroupIds: undefined,
            transitGatewayRouteTableId: undefined,
        });
    });

    it("rejects malformed ids, each by its field", () => {
        const t = exampleTopology();
        Object.assign(t.sites.ohio.aws, { vpcId: "vpc-XYZ", routeTableIds: ["rt-1"], securityGroupIds: ["sg_0a10000000"] });
        t.sites.ohio.aws.attachmentSubnets[0] = { subnetId: "subnet-12", availabilityZone: "us-east-2a", routeTableId: "rtb-x" };
        t.sites.ohio.nodes[1].instanceId = "0a10000000000002a";
        t.sites.ohio.aws.transitGatewayId = "tgw-0a1";
        assert.deepStrictEqual(problemFields(t).sort(), [
            `${S}.ohio.aws.attachmentSubnets[0].routeTableId`,
            `${S}.ohio.aws.attachmentSubnets[0].subnetId`,
            `${S}.ohio.aws.routeTableIds[0]`,
            `${S}.ohio.aws.securityGroupIds[0]`,
            `${S}.ohio.aws.transitGatewayId`,
            `${S}.ohio.aws.vpcId`,
            `${S}.ohio.nodes[1].instanceId`,
        ]);
    });

    it("needs an instance id and a zone for every node that hosts an endpoint, and attachment subnets", () => {
        const t = exampleTopology();
        delete t.sites.mumbai.nodes[0].instanceId;
        delete t.sites.mumbai.nodes[0].availabilityZone;
        delete t.sites.mumbai.nodes[1].instanceId; // hosts no endpoint: fine
        delete t.sites.mumbai.nodes[1].availabilityZone;
        t.sites.ohio.aws.attachmentSubnets = [];
        assert.deepStrictEqual(problemFields(t).sort(), [
            `${S}.mumbai.nodes[0].availabilityZone`,
            `${S}.mumbai.nodes[0].instanceId`,
            `${S}.ohio.aws.attachmentSubnets`,
        ]);
    });

    it("rejects an endpoint node in a zone without an attachment subnet, and says which zones have one", () => {
        const t = exampleTopology();
        t.sites.ohio.aws.attachmentSubnets.splice(0, 1); // us-east-2a, where the endpoint node is
        const [problem, ...rest] = problemsOf(t);
        assert.deepStrictEqual(rest, []);
        assert.strictEqual(problem.field, `${S}.ohio.nodes[0].availabilityZone`);
        assert.strictEqual(problem.value, "us-east-2a");
        assert.match(problem.message, /no attachment subnet in us-east-2a \(they are in us-east-2b\).*cannot reach the Transit Gateway/);
        assert.match(problem.fix, /add a subnet of us-east-2a to aws\.attachmentSubnets/);
        // A node that hosts no endpoint may be in such a zone: its range is still routed inside the VPC.
        const quiet = exampleTopology();
        quiet.sites.ohio.nodes[1].availabilityZone = "us-east-2c";
        assert.deepStrictEqual(problemFields(quiet), []);
    });

    it("rejects zones outside the site's region and two attachment subnets in one zone", () => {
        const t = exampleTopology();
        t.sites.ohio.nodes[1].availabilityZone = "ap-south-1a";
        t.sites.ohio.aws.attachmentSubnets[1].availabilityZone = "us-east-2a";
        const problems = problemsOf(t);
        assert.deepStrictEqual(problems.map((p) => p.field).sort(), [
            `${S}.ohio.aws.attachmentSubnets[1].availabilityZone`,
            `${S}.ohio.nodes[1].availabilityZone`,
        ]);
        assert.match(problems.find((p) => p.field.includes("attachmentSubnets"))!.message, /attachmentSubnets\[0\] is in this zone too/);
        assert.match(problems.find((p) => p.field.includes("nodes"))!.message, /not an availability zone of us-east-2/);
    });

    it("says what replaced subnetIds", () => {
        const t = exampleTopology();
        t.sites.ohio.aws.subnetIds = ["subnet-0a10000000000000a"];
        try {
            parseTopology(t);
            assert.fail("accepted subnetIds");
        } catch (err) {
            const [problem] = (err as ConfigError).problems;
            assert.strictEqual(problem.field, `${S}.ohio.aws.subnetIds`);
            assert.match(problem.fix, /attachmentSubnets.*\{subnetId, availabilityZone, routeTableId\}/);
        }
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
        const [problem] = problemsOf(t);
        assert.strictEqual(problem.field, `${S}.ohio.aws.routing`);
        assert.match(problem.message, /only forwards addresses inside the peer VPC's CIDR blocks/);
    });

    it("checks no ids or zones with routing: none, and peers no such site", () => {
        const t = exampleTopology();
        t.sites.ohio.aws = { region: "us-east-2", routing: "none" };
        t.sites.ohio.nodes[0].availabilityZone = "somewhere";
        assert.deepStrictEqual(problemFields(t), []);
        const { aws } = plan(t);
        assert.deepStrictEqual(Object.keys(aws.sites), ["mumbai"]);
        assert.deepStrictEqual(aws.peerings, []);
        assert.strictEqual(aws.sites.mumbai.peers[0].peering, undefined);
    });
});

describe("peeringStep: what a stack does for a peering", () => {
    const [peering] = plan(exampleTopology()).aws.peerings; // mumbai requests, ohio accepts
    const only = (site: string) => (s: string) => s === site;
    const gateway = { region: "us-east-2", accountId: "111111111111", transitGatewayId: "tgw-0ohio" };

    it("does everything at once when the stack deploys both sides", () => {
        assert.deepStrictEqual(
            peeringStep(peering, () => true),
            {},
        );
    });

    it("requests once the accepter's gateway is published, and routes once its acceptance is", () => {
        assert.deepStrictEqual(peeringStep(peering, only("mumbai")).waitingFor?.site, "ohio");
        const requested = peeringStep(peering, only("mumbai"), { ...gateway, acceptedPeerings: {} });
        assert.deepStrictEqual(requested.accepterGateway, gateway);
        assert.strictEqual(requested.acceptedAttachmentId, undefined);
        assert.match(requested.waitingFor!.reason, /routes ohio's range through it once ohio has accepted it/);
        const routed = peeringStep(peering, only("mumbai"), { ...gateway, acceptedPeerings: { mumbai: "tgw-attach-0a1" } });
        assert.deepStrictEqual(routed, { accepterGateway: gateway, acceptedAttachmentId: "tgw-attach-0a1", waitingFor: undefined });
    });

    it("accepts once the requester's attachment is published", () => {
        assert.match(peeringStep(peering, only("ohio")).waitingFor!.reason, /cannot accept .* mumbai has not requested it/);
        assert.deepStrictEqual(peeringStep(peering, only("ohio"), { peeringAttachments: { ohio: "tgw-attach-0a1" } }), {
            requestedAttachmentId: "tgw-attach-0a1",
        });
    });
});

/** The Transit Gateway route tables' entries, as `<table>: <range> -> <attachment> (<state>)`. */
function tgwRoutes(cloud: FakeAws): string[] {
    return [...cloud.tgwRouteTables].flatMap(([table, routes]) =>
        [...routes].map(([range, attachment]) => `${table}: ${range} -> ${attachment} (${cloud.attachments.get(attachment)?.state})`),
    );
}

/** Both peering routes of the example, each through the one attachment, which is available. */
const PEERED = [
    "tgw-rtb-of-mumbai-tgw-id: 10.10.0.0/16 -> mumbai-peering-ohio-id (available)",
    "tgw-rtb-of-ohio-tgw-id: 10.20.0.0/16 -> mumbai-peering-ohio-id (available)",
];

describe("AWS routing in a stack that manages both sites", () => {
    let resources: Registered[];
    let sites: any;
    let cloud: FakeAws;
    before(async () => {
        cloud = new FakeAws();
        ({ resources, sites } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], aws: cloud }));
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

    it("peers the Transit Gateways in one run: Mumbai requests, Ohio accepts, both route through the accepted attachment", () => {
        const request = find(resources, PEERING, "mumbai-peering-ohio").inputs;
        assert.deepStrictEqual(
            [request.transitGatewayId, request.peerTransitGatewayId, request.peerRegion, request.peerAccountId],
            ["mumbai-tgw-id", "ohio-tgw-id", "us-east-2", "account-of-ohio-aws"],
        );
        assert.strictEqual(find(resources, ACCEPTER, "ohio-peering-mumbai").inputs.transitGatewayAttachmentId, "mumbai-peering-ohio-id");
        assert.strictEqual(ofType(resources, PEERING).length, 1);
        // The requester's route waits for the acceptance, or AWS refuses it (the run would have failed).
        assert.ok(find(resources, TGW_ROUTE, "mumbai-peering-ohio-route").dependsOn.includes("ohio-peering-mumbai"));
        for (const route of PEERED) assert.ok(tgwRoutes(cloud).includes(route), `${route} in ${tgwRoutes(cloud)}`);
    });

    it("routes each range where it belongs: nodes in the nodes' and the attachment subnets' tables, peers in the nodes'", () => {
        const tgwRoutesByName = Object.fromEntries(ofType(resources, TGW_ROUTE).map((r) => [r.name, r.inputs.destinationCidrBlock]));
        assert.deepStrictEqual(tgwRoutesByName, {
            "ohio-tgw-local": "10.10.0.0/16",
            "mumbai-tgw-local": "10.20.0.0/16",
            "mumbai-peering-ohio-route": "10.10.0.0/16",
            "ohio-peering-mumbai-route": "10.20.0.0/16",
        });
        const table = (id: string) => Object.fromEntries(cloud.routeTables.get(id)!);
        assert.deepStrictEqual(table("rtb-0a10000000000000a"), {
            "10.10.1.0/24": "eni-of-i-0a10000000000001a",
            "10.10.2.0/24": "eni-of-i-0a10000000000002a",
            "10.20.0.0/16": "ohio-tgw-id",
        });
        // Where traffic from the Transit Gateway enters the VPC.
        assert.deepStrictEqual(table("rtb-0a10000000000000b"), {
            "10.10.1.0/24": "eni-of-i-0a10000000000001a",
            "10.10.2.0/24": "eni-of-i-0a10000000000002a",
        });
        const attachment = find(resources, "aws:ec2transitgateway/vpcAttachment:VpcAttachment", "ohio-tgw-vpc").inputs;
        assert.deepStrictEqual(attachment.subnetIds, ["subnet-0a10000000000000a", "subnet-0a10000000000000b"]);
    });

    it("orders destroy safely: routes go before the attachments and interfaces they use", () => {
        const toPeer = find(resources, VPC_ROUTE, "ohio-to-mumbai-rtb-0a10000000000000a");
        assert.ok(toPeer.dependsOn.includes("ohio-tgw-vpc"), JSON.stringify(toPeer.dependsOn));
        assert.ok(find(resources, TGW_ROUTE, "ohio-tgw-local").dependsOn.includes("ohio-tgw-vpc"));
        assert.ok(find(resources, TGW_ROUTE, "ohio-peering-mumbai-route").dependsOn.includes("ohio-peering-mumbai"));
        assert.ok(find(resources, TGW_ROUTE, "mumbai-peering-ohio-route").dependsOn.includes("mumbai-peering-ohio"));
        const toNode = find(resources, VPC_ROUTE, `ohio-node-${OHIO_NODE}-rtb-0a10000000000000b`);
        assert.ok(toNode.dependsOn.includes(`ohio-source-dest-check-${OHIO_NODE}`), JSON.stringify(toNode.dependsOn));
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

    it("turns the source/destination check off on the network interface each node route uses, for every routed node", () => {
        const checks = ofType(resources, COMMAND);
        assert.deepStrictEqual(checks.map((c) => c.name).sort(), [
            "mumbai-source-dest-check-ip-10-1-202-17.ap-south-1.compute.internal",
            "mumbai-source-dest-check-ip-10-1-236-160.ap-south-1.compute.internal",
            "mumbai-source-dest-check-ip-10-1-241-95.ap-south-1.compute.internal",
            `ohio-source-dest-check-${OHIO_NODE}`,
            `ohio-source-dest-check-${OHIO_NODE_2}`,
        ]);
        const ohio = find(resources, COMMAND, `ohio-source-dest-check-${OHIO_NODE}`);
        const cli = "aws ec2 modify-network-interface-attribute --region us-east-2 --network-interface-id eni-of-i-0a10000000000001a";
        assert.strictEqual(ohio.inputs.create, `${cli} --no-source-dest-check`);
        assert.strictEqual(ohio.inputs.delete, sourceDestCheck("us-east-2", "eni-of-i-0a10000000000001a", true));
        assert.ok(ohio.inputs.delete.includes(`${cli} --source-dest-check`), ohio.inputs.delete);
        assert.strictEqual(ohio.provider, "ohio-command");
        // Every route to an interface ends at one that forwards: none drops what it is sent.
        assert.deepStrictEqual(cloud.droppingRoutes(), []);
        assert.strictEqual(cloud.interfaces.get("eni-2-of-i-0a10000000000001a")!.sourceDestCheck, true, "the spare interface is untouched");
    });

    it("restores every check it turned off when the stack is destroyed", () => {
        const after = structuredClone([...cloud.interfaces]);
        cloud.destroy("demo");
        assert.ok(after.some(([, eni]) => !eni.sourceDestCheck));
        for (const [id, eni] of cloud.interfaces) assert.strictEqual(eni.sourceDestCheck, true, id);
        assert.deepStrictEqual(tgwRoutes(cloud), []);
        assert.deepStrictEqual([...cloud.associations], []);
    });

    it("publishes the ids a peer stack needs", () => {
        assert.deepStrictEqual(sites.mumbai.aws, {
            region: "ap-south-1",
            accountId: "account-of-mumbai-aws",
            transitGatewayId: "mumbai-tgw-id",
            peeringAttachments: { ohio: "mumbai-peering-ohio-id" },
            acceptedPeerings: {},
        });
        assert.deepStrictEqual(sites.ohio.aws.peeringAttachments, {});
        assert.deepStrictEqual(sites.ohio.aws.acceptedPeerings, { mumbai: "mumbai-peering-ohio-id" });
    });
});

describe("a site whose stack assumes an IAM role (plumr:access.<site>.awsRoleArn)", () => {
    const ROLE = "arn:aws:iam::123456789012:role/ci/plumr-deployer";
    /** A provider's input as the engine gets it: @pulumi/aws hands objects to its provider as JSON. */
    const input = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

    it("gives that site's AWS provider the role, and its AWS CLI commands assume it first; the other site's neither", async () => {
        const access = {
            ohio: { kubeconfig: "kubeconfig-of-ohio", awsRoleArn: ROLE },
            mumbai: { kubeconfig: "kubeconfig-of-mumbai", awsProfile: "mumbai" },
        };
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], access, aws: new FakeAws() });
        const ohio = find(resources, "pulumi:providers:aws", "ohio-aws").inputs;
        assert.deepStrictEqual(input(ohio.assumeRoles), [{ roleArn: ROLE, sessionName: "plumr-ohio" }]);
        const mumbai = find(resources, "pulumi:providers:aws", "mumbai-aws").inputs;
        assert.strictEqual(mumbai.assumeRoles, undefined);
        assert.strictEqual(mumbai.profile, "mumbai");
        const check = find(resources, COMMAND, `ohio-source-dest-check-${OHIO_NODE}`).inputs;
        const eni = "eni-of-i-0a10000000000001a";
        assert.strictEqual(check.create, asRole({ roleArn: ROLE, sessionName: "plumr-ohio" }, sourceDestCheck("us-east-2", eni, false)));
        assert.match(check.create, /^credentials=\$\(aws sts assume-role --role-arn 'arn:aws:iam::123456789012:role\/ci\/plumr-deployer'/);
        assert.match(check.delete, /aws sts assume-role/);
        const other = ofType(resources, COMMAND).find((c) => c.name.startsWith("mumbai-"))!;
        assert.ok(!other.inputs.create.includes("sts"), other.inputs.create);
    });

    it("rejects an awsRoleArn that is not a role's ARN before any resource, naming the field, the value and the form", async () => {
        const access = { ohio: { kubeconfig: "kubeconfig-of-ohio", awsRoleArn: "arn:aws:iam::123456789012:user/ci" } };
        await assert.rejects(
            runProgram({ stack: "ohio", access, aws: new FakeAws() }),
            (err: unknown) =>
                err instanceof ConfigError &&
                err.message.includes('plumr:access.ohio.awsRoleArn = "arn:aws:iam::123456789012:user/ci": not a role') &&
                err.message.includes("arn:aws:iam::123456789012:role/plumr-deployer"),
        );
    });

    describe("the commands' script, run by sh against a stand-in aws CLI", () => {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-role-"));
            fs.mkdirSync(path.join(dir, "bin"));
            fs.symlinkSync(path.join(__dirname, "..", "support", "fakeAwsCli.js"), path.join(dir, "bin", "aws"));
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        /** Runs `script` as the role, with the shell's profile set; what it printed. */
        const run = (denied: string[], script: string) => {
            fs.writeFileSync(path.join(dir, "ec2.json"), JSON.stringify({ denied }));
            const PATH = [path.join(dir, "bin"), path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter);
            const env = { PATH, FAKE_AWS_EC2: path.join(dir, "ec2.json"), AWS_PROFILE: "runner" };
            return spawnSync("sh", ["-c", asRole({ roleArn: ROLE, sessionName: "plumr-ohio" }, script)], {
                env,
                encoding: "utf8",
                timeout: 30_000,
            });
        };

        it("runs the command with the role's temporary credentials and no profile", () => {
            const result = run([], 'echo "$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN ${AWS_PROFILE:-no profile}"');
            assert.strictEqual(result.status, 0, result.stderr);
            assert.strictEqual(result.stdout, "ASIA-plumr-ohio secret token no profile\n");
        });

        it("fails, without running the command, when the role cannot be assumed, with the role and STS's words", () => {
            const result = run(["AssumeRole"], "echo ran");
            assert.strictEqual(result.status, 1);
            assert.strictEqual(result.stdout, "");
            assert.match(
                result.stderr,
                new RegExp(
                    `could not assume role ${ROLE} \\(awsRoleArn of the site in plumr:access\\): \\s*An error occurred \\(AccessDenied\\)`,
                ),
            );
        });
    });
});

describe("a Transit Gateway replaced in a stack that manages both sites", () => {
    it("re-peers in one run: each route through the new attachment replaces the old one in its table", async () => {
        const cloud = new FakeAws();
        await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], aws: cloud });
        const topology = exampleTopology();
        topology.sites.mumbai.aws.transitGatewayAsn = 64513; // a new Transit Gateway for Mumbai
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, aws: cloud });
        const attachment = find(resources, ACCEPTER, "ohio-peering-mumbai").inputs.transitGatewayAttachmentId;
        assert.notStrictEqual(attachment, "mumbai-peering-ohio-id");
        const peeringRoutes = tgwRoutes(cloud).filter((r) => r.includes("peering"));
        assert.deepStrictEqual(peeringRoutes.sort(), [
            `tgw-rtb-of-${find(resources, PEERING, "mumbai-peering-ohio").inputs.transitGatewayId}: 10.10.0.0/16 -> ${attachment} (available)`,
            `tgw-rtb-of-ohio-tgw-id: 10.20.0.0/16 -> ${attachment} (available)`,
        ]);
    });
});

describe("the model of AWS behind the mocks", () => {
    it("refuses the instance attribute on an instance with several network interfaces, as EC2 does", async () => {
        const cloud = new FakeAws();
        cloud.beginRun("probe");
        cloud.register(
            COMMAND,
            "instance",
            { create: "aws ec2 modify-instance-attribute --instance-id i-0a1 --no-source-dest-check" },
            { deleteBeforeReplace: false, dependsOn: [] },
        );
        assert.match(cloud.endRun()[0], /There are multiple interfaces attached to instance 'i-0a1'\. Please specify an interface ID/);
    });

    it("refuses a Transit Gateway route to a peering attachment that has not been accepted", async () => {
        const cloud = new FakeAws();
        cloud.beginRun("probe");
        const options = { deleteBeforeReplace: false, dependsOn: [] };
        cloud.register("aws:ec2transitgateway/transitGateway:TransitGateway", "a", {}, options);
        cloud.register("aws:ec2transitgateway/transitGateway:TransitGateway", "b", {}, options);
        cloud.register(PEERING, "ab", { transitGatewayId: "a-id", peerTransitGatewayId: "b-id" }, options);
        cloud.register(
            TGW_ROUTE,
            "ab-route",
            { transitGatewayAttachmentId: "ab-id", transitGatewayRouteTableId: "t", destinationCidrBlock: "10.0.0.0/8" },
            options,
        );
        assert.deepStrictEqual(cloud.endRun(), [`${TGW_ROUTE} ab-route: IncorrectState: ab-id is in invalid state`]);
    });
});

describe("AWS peering across two per-site stacks, in the documented order", () => {
    const peeringResources = (changed: string[]) => changed.filter((c) => /PeeringAttachment|peering-.*-route/.test(c));

    it("Ohio (the accepter) first: ohio, mumbai, ohio, mumbai converge with no failing step", async () => {
        const { cloud, runs } = await upInOrder(["ohio", "mumbai", "ohio", "mumbai", "ohio", "mumbai"]);
        const [ohio1, mumbai1, ohio2, mumbai2, ...again] = runs;
        assert.deepStrictEqual(peeringResources(ohio1.changed), [], "Ohio alone: its own side only");
        assert.deepStrictEqual(
            peeringResources(mumbai1.changed),
            [`+ ${PEERING}::mumbai-peering-ohio`],
            "Mumbai requests, and routes nothing through it yet",
        );
        assert.deepStrictEqual(
            ohio2.changed,
            [`+ ${ACCEPTER}::ohio-peering-mumbai`, `+ ${TGW_ROUTE}::ohio-peering-mumbai-route`],
            "Ohio accepts and routes",
        );
        assert.deepStrictEqual(
            mumbai2.changed,
            [`+ ${TGW_ROUTE}::mumbai-peering-ohio-route`, `+ ${ASSOCIATION}::mumbai-peering-ohio-association`],
            "Mumbai associates the accepted attachment with its table, and routes through it",
        );
        for (const run of again) assert.deepStrictEqual(run.changed, [], `${run.stack} again: no change`);
        assert.deepStrictEqual(
            tgwRoutes(cloud)
                .filter((r) => r.includes("peering"))
                .sort(),
            PEERED,
        );
        assert.strictEqual(
            find(mumbai2.result.resources, TGW_ROUTE, "mumbai-peering-ohio-route").inputs.transitGatewayAttachmentId,
            "mumbai-peering-ohio-id",
        );
    });

    it("Mumbai (the requester) first: it requests once Ohio's gateway is published, and routes once Ohio accepted", async () => {
        const { cloud, runs } = await upInOrder(["mumbai", "ohio", "mumbai", "ohio", "mumbai", "ohio", "mumbai"]);
        const changed = runs.map((r) => peeringResources(r.changed));
        assert.deepStrictEqual(changed, [
            [],
            [],
            [`+ ${PEERING}::mumbai-peering-ohio`],
            [`+ ${ACCEPTER}::ohio-peering-mumbai`, `+ ${TGW_ROUTE}::ohio-peering-mumbai-route`],
            [`+ ${TGW_ROUTE}::mumbai-peering-ohio-route`],
            [],
            [],
        ]);
        assert.deepStrictEqual(
            tgwRoutes(cloud)
                .filter((r) => r.includes("peering"))
                .sort(),
            PEERED,
        );
        // The first Mumbai run already routes Ohio's range to its own Transit Gateway, from the topology.
        assert.ok(ofType(runs[0].result.resources, VPC_ROUTE).some((r) => r.inputs.destinationCidrBlock === "10.10.0.0/16"));
    });

    it("routes through the accepted attachment only: a requester that routed before the acceptance fails on AWS", async () => {
        // What a requester that routed in the run that requests would meet: the attachment is pendingAcceptance.
        const cloud = new FakeAws();
        const { runs } = await upInOrder(["ohio", "mumbai"], {}, cloud);
        const published = { "organization/plumr/ohio": { sites: runs[0].result.sites, links: runs[0].result.links } };
        const forged = structuredClone(published);
        forged["organization/plumr/ohio"].sites.ohio.aws.acceptedPeerings = { mumbai: "mumbai-peering-ohio-id" };
        await assert.rejects(runProgram({ stack: "mumbai", aws: cloud, stackOutputs: forged }), (err: unknown) => {
            assert.ok(err instanceof AwsRefusal, String(err));
            assert.match(err.message, /mumbai-peering-ohio-route: IncorrectState: mumbai-peering-ohio-id is in invalid state/);
            return true;
        });
    });
});

describe("nodes replaced under the topology", () => {
    const ohioCluster = () => topologyNodes(exampleTopology(), "ohio");
    async function refusal(options: Partial<RunOptions>): Promise<{ err: ConfigError; resources: Registered[] }> {
        const resources: Registered[] = [];
        try {
            await runProgram({ stack: "ohio", ...options, registered: resources });
        } catch (err) {
            assert.ok(err instanceof ConfigError, String(err));
            return { err, resources };
        }
        return assert.fail("the program deployed onto a cluster whose nodes are not the topology's");
    }

    it("fails before any change when a node's instance was replaced, naming what the cluster says and the fix", async () => {
        const cluster = ohioCluster();
        cluster[0].providerId = "aws:///us-east-2c/i-0b10000000000009f";
        const { err } = await refusal({ clusters: { ohio: cluster } });
        assert.strictEqual(err.problems.length, 1);
        const [problem] = err.problems;
        assert.strictEqual(problem.field, `${S}.ohio.nodes[0].instanceId`);
        assert.strictEqual(problem.value, "i-0a10000000000001a");
        assert.match(problem.message, new RegExp(`site ohio's cluster says node ${OHIO_NODE} is instance i-0b10000000000009f`));
        assert.match(problem.fix, /set sites\.ohio\.nodes\[0\]\.instanceId to i-0b10000000000009f and availabilityZone to us-east-2c/);
    });

    it("fails when a node is gone, naming the node that now runs its instance, if any", async () => {
        const renamed = ohioCluster();
        renamed[1].name = "ip-10-0-171-34.us-east-2.compute.internal";
        const { err } = await refusal({ clusters: { ohio: renamed } });
        assert.deepStrictEqual(
            err.problems.map((p) => [p.field, p.value]),
            [[`${S}.ohio.nodes[1].name`, OHIO_NODE_2]],
        );
        assert.match(err.problems[0].message, /instance i-0a10000000000002a is its node ip-10-0-171-34\.us-east-2\.compute\.internal now/);
        assert.match(err.problems[0].fix, /npm run allocate/);
        const gone = await refusal({ clusters: { ohio: ohioCluster().slice(0, 1) } });
        assert.match(gone.err.problems[0].message, /none of its nodes is instance i-0a10000000000002a: the node was replaced/);
    });

    it("registers nothing that changes a cluster or AWS before the check", async () => {
        const cluster = ohioCluster();
        cluster[0].providerId = "";
        const { err, resources } = await refusal({ clusters: { ohio: cluster } });
        assert.match(err.problems[0].message, /has no spec\.providerID/);
        assert.deepStrictEqual(
            resources
                .filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack")
                .map((r) => `${r.type} ${r.name}`),
            [],
        );
    });

    it("compares the zone too, and reads the kubeconfig from a file when access names one", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-kubeconfig-"));
        try {
            const file = path.join(dir, "ohio.yaml");
            fs.writeFileSync(file, "kubeconfig-of-ohio");
            const cluster = ohioCluster();
            cluster[1].providerId = "aws:///us-east-2c/i-0a10000000000002a";
            const { err } = await refusal({ clusters: { ohio: cluster }, access: { ohio: { kubeconfig: file } } });
            assert.deepStrictEqual(
                err.problems.map((p) => [p.field, p.value]),
                [[`${S}.ohio.nodes[1].availabilityZone`, "us-east-2b"]],
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("says so when the cluster cannot be read", async () => {
        const { err } = await refusal({ access: { ohio: { kubeconfig: "unreachable" } } });
        assert.strictEqual(err.problems[0].field, "plumr:access.ohio.kubeconfig");
        assert.match(err.problems[0].fix, /install kubectl/);
    });

    it("compares instances only for nodes with an instance id at sites with routing: transitGateway", async () => {
        const topology = exampleTopology();
        delete topology.sites.ohio.nodes[1].instanceId;
        const cluster = ohioCluster();
        cluster[1].providerId = "";
        await runProgram({ stack: "ohio", topology, clusters: { ohio: cluster } });
        const none = exampleTopology();
        none.sites.ohio.aws = { region: "us-east-2", routing: "none" };
        await runProgram({ stack: "ohio", topology: none, clusters: { ohio: ohioCluster().map((n) => ({ ...n, providerId: "" })) } });
    });
});

describe("provider ids", () => {
    it("reads a provider id's zone and instance", () => {
        assert.deepStrictEqual(parseProviderId("aws:///us-east-2a/i-0a10000000000001a"), {
            zone: "us-east-2a",
            instanceId: "i-0a10000000000001a",
        });
        assert.deepStrictEqual(parseProviderId("kwok://node-1"), {});
    });
});

describe("docs/iam-policy.json", () => {
    // What the AWS provider calls to create, read, update and delete each resource the program
    // registers, and to answer each lookup; and what each AWS CLI command the program runs calls.
    const NEEDS: Record<string, string[]> = {
        "aws:ec2transitgateway/transitGateway:TransitGateway": [
            "ec2:CreateTransitGateway",
            "ec2:DescribeTransitGateways",
            "ec2:ModifyTransitGateway",
            "ec2:DeleteTransitGateway",
            "ec2:CreateTags",
        ],
        "aws:ec2transitgateway/vpcAttachment:VpcAttachment": [
            "ec2:CreateTransitGatewayVpcAttachment",
            "ec2:DescribeTransitGatewayVpcAttachments",
            "ec2:ModifyTransitGatewayVpcAttachment",
            "ec2:DeleteTransitGatewayVpcAttachment",
            "ec2:DescribeTransitGateways",
            "ec2:GetTransitGatewayRouteTableAssociations",
            "ec2:GetTransitGatewayRouteTablePropagations",
            "ec2:CreateTags",
        ],
        [TGW_ROUTE]: ["ec2:CreateTransitGatewayRoute", "ec2:SearchTransitGatewayRoutes", "ec2:DeleteTransitGatewayRoute"],
        [ASSOCIATION]: [
            "ec2:AssociateTransitGatewayRouteTable",
            "ec2:GetTransitGatewayRouteTableAssociations",
            "ec2:DescribeTransitGatewayAttachments",
            "ec2:DisassociateTransitGatewayRouteTable",
        ],
        [PEERING]: [
            "ec2:CreateTransitGatewayPeeringAttachment",
            "ec2:DescribeTransitGatewayPeeringAttachments",
            "ec2:DeleteTransitGatewayPeeringAttachment",
            "ec2:CreateTags",
        ],
        [ACCEPTER]: [
            "ec2:AcceptTransitGatewayPeeringAttachment",
            "ec2:DescribeTransitGatewayPeeringAttachments",
            "ec2:DescribeTransitGateways",
            "ec2:GetTransitGatewayRouteTableAssociations",
            "ec2:DeleteTransitGatewayPeeringAttachment",
            "ec2:CreateTags",
        ],
        [VPC_ROUTE]: ["ec2:CreateRoute", "ec2:DescribeRouteTables", "ec2:ReplaceRoute", "ec2:DeleteRoute"],
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:DescribeSecurityGroupRules",
            "ec2:ModifySecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:CreateTags",
        ],
        "aws:index/getCallerIdentity:getCallerIdentity": ["sts:GetCallerIdentity"],
        "aws:ec2transitgateway/getTransitGateway:getTransitGateway": ["ec2:DescribeTransitGateways"],
        "aws:ec2transitgateway/getRouteTable:getRouteTable": ["ec2:DescribeTransitGatewayRouteTables"],
        // The instance lookup reads the instance, its type, attributes, volumes and credit
        // specification (burstable types), and whether its VPC is the default one.
        "aws:ec2/getInstance:getInstance": [
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceTypes",
            "ec2:DescribeInstanceAttribute",
            "ec2:DescribeInstanceCreditSpecifications",
            "ec2:DescribeVolumes",
            "ec2:DescribeVpcs",
        ],
        "aws:ec2/getSubnet:getSubnet": ["ec2:DescribeSubnets"],
        // The VPC lookup reads its attributes and its main route table too.
        "aws:ec2/getVpc:getVpc": ["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeRouteTables"],
        "aws:ec2/getRouteTables:getRouteTables": ["ec2:DescribeRouteTables"],
        "modify-network-interface-attribute": ["ec2:ModifyNetworkInterfaceAttribute"],
    };
    const policy = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "docs", "iam-policy.json"), "utf8"));
    const granted = new Set<string>(policy.Statement.flatMap((s: any) => s.Action));

    it("grants what every resource, lookup and command of the program needs", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.aws.transitGatewayId = "tgw-0e1e2e3e4e5e6e7e8";
        const used = new Set<string>();
        // A gateway that associates nothing by itself, and a table of it written: its lookup, and every association.
        const table = { ...topology, sites: { ...topology.sites, ohio: structuredClone(topology.sites.ohio) } };
        table.sites.ohio.aws.transitGatewayRouteTableId = "tgw-rtb-0e1e2e3e4e5e6e7e8";
        const associatesNothing = () => {
            const cloud = new FakeAws();
            cloud.existingTransitGateway("tgw-0e1e2e3e4e5e6e7e8", { tables: new Set(["tgw-rtb-0e1e2e3e4e5e6e7e8"]) });
            return cloud;
        };
        // Every id written, and none: the lookups of both, and the commands.
        for (const [t, aws] of [[topology], [withoutAwsIds(topology)], [table, associatesNothing()]] as const) {
            const { resources, invokes } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology: t, aws });
            for (const r of resources.filter((r) => r.type.startsWith("aws:"))) used.add(r.type);
            for (const token of invokes) used.add(token);
            for (const c of ofType(resources, COMMAND)) {
                for (const cli of [c.inputs.create, c.inputs.delete])
                    for (const [, call] of cli.matchAll(/\baws ec2 (\S+)/g)) used.add(call);
            }
        }
        for (const token of ["aws:ec2/getRouteTables:getRouteTables", "modify-network-interface-attribute", ASSOCIATION])
            assert.ok(used.has(token), token);
        for (const what of used) {
            assert.ok(NEEDS[what], `no IAM actions known for ${what}`);
            for (const action of NEEDS[what]) assert.ok(granted.has(action), `${what} needs ${action}`);
        }
        const needed = new Set(Object.values(NEEDS).flat());
        for (const gone of ["ec2:ModifyInstanceAttribute", "ec2:DescribeNetworkInterfaces"]) {
            assert.ok(!needed.has(gone) && !granted.has(gone), `${gone} is no longer needed`);
        }
    });

    it("has the statements the run order in docs/AWS.md names", () => {
        const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "AWS.md"), "utf8");
        const section = doc.slice(0, doc.indexOf("**What it costs.**"));
        assert.deepStrictEqual(
            policy.Statement.map((s: any) => s.Sid),
            ["EveryRun", "SiteRouting", "RequestPeering", "AcceptPeering"],
        );
        for (const statement of policy.Statement) assert.ok(section.includes(`\`${statement.Sid}\``), statement.Sid);
        for (const action of ["ec2:CreateTransitGatewayRoute", "ec2:ModifyNetworkInterfaceAttribute"])
            assert.ok(section.includes(action), action);
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
