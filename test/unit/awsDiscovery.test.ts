// The AWS ids a topology leaves out, found in AWS at deploy time (planner/aws/discovery.ts): the
// same resources as the ids written, each lookup's failure in the user's words, pins that disagree
// with what is found, AWS's main route table rule, the attachment subnets of the end zones; and the
// source/destination check's delete run for real against a stand-in aws CLI.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readTopologyFile } from "../../lib/topologyFile";
import { Problem } from "../../planner/problems/errors";
import { awsId } from "../support/fakeEc2";
import {
    exampleTopology,
    FakeAws,
    find,
    Registered,
    runProgram,
    runProblems,
    RunOptions,
    RunResult,
    withoutAwsIds,
} from "../support/harness";

const S = "plumr:topology.sites";
const VPC_ROUTE = "aws:ec2/route:Route";
const VPC_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment";
const RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const COMMAND = "command:local:Command";
const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";
const OHIO_NODE_2 = "ip-10-0-171-33.us-east-2.compute.internal";
const OHIO_RTB = "rtb-0a10000000000000a";
const OHIO_VPC = "vpc-0a10000000000000a";
/** Where the default inventory puts the routed nodes of a site's zone. */
const zoneSubnet = (site: string, zone: string) => awsId("subnet", `${site}/${zone}`);
const OHIO_2A = zoneSubnet("ohio", "us-east-2a");

/** A model of AWS holding what the shipped topology describes: its VPCs, route tables, subnets and instances. */
function shippedCloud(topology = exampleTopology()): FakeAws {
    const cloud = new FakeAws();
    cloud.ec2.describeTopology(topology);
    return cloud;
}

/** The AWS side of a run: each AWS and command resource and provider, by type and name, with its provider, dependencies and inputs. */
function awsSide(result: RunResult): Record<string, unknown> {
    const aws = result.resources.filter((r) => /^(aws:|command:|pulumi:providers:(aws|command))/.test(r.type));
    return Object.fromEntries(
        aws.map((r) => [`${r.type}::${r.name}`, { provider: r.provider, dependsOn: [...r.dependsOn].sort(), inputs: r.inputs }]),
    );
}

/** The problems of a run that must fail with a ConfigError, and what it registered. */
const problemsOf = (options: RunOptions) =>
    runProblems(options, "the program deployed what it could not find in AWS, or what disagrees with it");

/** The one problem of a run that must fail with a ConfigError, and what the run registered. */
async function problemOf(options: RunOptions): Promise<Problem & { registered: Registered[] }> {
    const { problems, registered } = await problemsOf(options);
    assert.strictEqual(problems.length, 1, JSON.stringify(problems, null, 2));
    return { ...problems[0], registered };
}

describe("AWS ids found in AWS", () => {
    it("deploys and routes a topology that writes no AWS id exactly as it would with the ids it finds written", async () => {
        const shipped = exampleTopology();
        const run = (topology: any) => runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, aws: shippedCloud() });
        // What a user copies from the console under the same rules: each end node's subnet is its zone's attachment subnet.
        const written = structuredClone(shipped);
        for (const [name, site] of Object.entries<any>(written.sites)) {
            const zone = site.nodes[0].availabilityZone;
            site.aws.attachmentSubnets = [
                { subnetId: zoneSubnet(name, zone), availabilityZone: zone, routeTableId: site.aws.routeTableIds[0] },
            ];
        }
        const found = awsSide(await run(withoutAwsIds(shipped)));
        assert.deepStrictEqual(found, awsSide(await run(written)));

        // The shipped topology differs only where it writes attachment subnets of their own, in every zone.
        const asShipped = awsSide(await run(shipped));
        const differ = Object.keys({ ...found, ...asShipped }).filter((k) => JSON.stringify(found[k]) !== JSON.stringify(asShipped[k]));
        const routedNodes = (site: string) => shipped.sites[site].nodes.map((n: any) => n.name);
        assert.deepStrictEqual(
            differ.sort(),
            [
                ...routedNodes("mumbai").map((n: string) => `${VPC_ROUTE}::mumbai-node-${n}-rtb-0a20000000000000b`),
                ...routedNodes("ohio").map((n: string) => `${VPC_ROUTE}::ohio-node-${n}-rtb-0a10000000000000b`),
                `${VPC_ATTACHMENT}::mumbai-tgw-vpc`,
                `${VPC_ATTACHMENT}::ohio-tgw-vpc`,
            ].sort(),
        );
    });

    it("takes the route tables and security groups of the routed nodes' instances, each once, unless written", async () => {
        const topology = withoutAwsIds(exampleTopology());
        const cloud = shippedCloud();
        const [first, second] = cloud.ec2.instances.filter((i) => i.region === "us-east-2");
        first.securityGroupIds = ["sg-0a1000000000000aa", "sg-0a1000000000000bb"];
        second.securityGroupIds = ["sg-0a1000000000000bb", "sg-0a1000000000000cc"];
        // The link's port is opened once in each group: each group once.
        const groups = (r: RunResult) =>
            r.resources.filter((x) => x.type === RULE && x.inputs.ipProtocol === "udp").map((x) => x.inputs.securityGroupId);
        assert.deepStrictEqual(groups(await runProgram({ stack: "ohio", topology, aws: cloud })), [
            "sg-0a1000000000000aa",
            "sg-0a1000000000000bb",
            "sg-0a1000000000000cc",
        ]);
        topology.sites.ohio.aws.securityGroupIds = ["sg-0a1000000000000dd"];
        assert.deepStrictEqual(groups(await runProgram({ stack: "ohio", topology, aws: cloud })), ["sg-0a1000000000000dd"]);
        topology.sites.ohio.aws.securityGroupIds = [];
        assert.deepStrictEqual(groups(await runProgram({ stack: "ohio", topology, aws: cloud })), [], "[] opens none");
    });

    it("looks up no route table where routeTableIds and attachmentSubnets are written: they replace the lookups", async () => {
        const cloud = shippedCloud();
        // The nodes' subnets' table in AWS is no longer the written one: the written one is used all the same.
        cloud.ec2.routeTables.find((t) => t.id === OHIO_RTB)!.id = "rtb-0a1000000000000ff";
        const { resources, invokes } = await runProgram({ stack: "ohio", aws: cloud });
        assert.ok(!invokes.includes("aws:ec2/getRouteTables:getRouteTables"), invokes.join(", "));
        assert.ok(resources.some((r) => r.type === VPC_ROUTE && r.inputs.routeTableId === OHIO_RTB));
    });

    it("routes a subnet no route table is associated with through its VPC's main route table, as AWS does", async () => {
        const cloud = shippedCloud();
        const nodesTable = cloud.ec2.routeTables.find((t) => t.id === OHIO_RTB)!;
        nodesTable.subnetIds = nodesTable.subnetIds.filter((s) => s !== OHIO_2A);
        const main = cloud.ec2.routeTables.find((t) => t.region === "us-east-2" && t.main)!.id;
        const { resources } = await runProgram({ stack: "ohio", topology: withoutAwsIds(exampleTopology()), aws: cloud });
        const tables = (prefix: string) =>
            resources
                .filter((r) => r.type === VPC_ROUTE && r.name.startsWith(prefix))
                .map((r) => r.inputs.routeTableId)
                .sort();
        // Node 0's subnet (us-east-2a) is routed by the main table; node 1's (us-east-2b) by its own.
        assert.deepStrictEqual(tables("ohio-to-mumbai-"), [main, OHIO_RTB].sort());
        assert.deepStrictEqual(tables(`ohio-node-${OHIO_NODE}-`), [main, OHIO_RTB].sort());
        assert.deepStrictEqual(find(resources, VPC_ATTACHMENT, "ohio-tgw-vpc").inputs.subnetIds, [OHIO_2A]);
    });

    describe("attachment subnets", () => {
        const topology = () => readTopologyFile(path.join(__dirname, "..", "fixtures", "aws-discovery.yaml"));

        it("takes one subnet per zone that hosts a link end: its end node's, the first by name where they are in several", async () => {
            const cloud = new FakeAws();
            cloud.ec2.describeTopology(topology());
            // ip-10-0-130-7 (us-east-2a, sorts before ip-10-0-154-10) in a subnet of its own, with a route table of its own.
            const own = { subnet: "subnet-0a1000000000000c7", table: "rtb-0a1000000000000c7" };
            const vpcId = cloud.ec2.subnets.find((s) => s.id === OHIO_2A)!.vpcId;
            cloud.ec2.subnets.push({ id: own.subnet, region: "us-east-2", vpcId, availabilityZone: "us-east-2a" });
            cloud.ec2.routeTables.push({ id: own.table, region: "us-east-2", vpcId, main: false, subnetIds: [own.subnet] });
            cloud.ec2.instances.find((i) => i.id === "i-0a10000000000003a")!.subnetId = own.subnet;
            const { resources } = await runProgram({
                stack: "demo",
                sites: ["ohio", "mumbai"],
                topology: topology(),
                aws: cloud,
                allocations: null,
            });
            const attached = (site: string) => find(resources, VPC_ATTACHMENT, `${site}-tgw-vpc`).inputs.subnetIds;
            assert.deepStrictEqual(attached("ohio"), [own.subnet, zoneSubnet("ohio", "us-east-2b")]);
            // Mumbai's third zone hosts no link end: no attachment subnet there.
            assert.deepStrictEqual(attached("mumbai"), [zoneSubnet("mumbai", "ap-south-1a"), zoneSubnet("mumbai", "ap-south-1b")]);
            // The chosen subnet's route table gets every node route; the peers' ranges go to the nodes' subnets' tables.
            const ohioNodesTable = awsId("rtb", "ohio");
            const routes = resources.filter((r) => r.type === VPC_ROUTE && r.name.startsWith(`ohio-node-${OHIO_NODE_2}-`));
            assert.deepStrictEqual(routes.map((r) => r.inputs.routeTableId).sort(), [ohioNodesTable, own.table].sort());
        });

        it("uses the written ones instead, in the zones they name", async () => {
            const t = topology();
            const written = [
                { subnetId: "subnet-0a100000000000aaa", availabilityZone: "us-east-2a", routeTableId: "rtb-0a100000000000aaa" },
                { subnetId: "subnet-0a100000000000bbb", availabilityZone: "us-east-2b", routeTableId: "rtb-0a100000000000aaa" },
            ];
            t.sites.ohio.aws.attachmentSubnets = written;
            const { resources } = await runProgram({ stack: "ohio", topology: t, allocations: null });
            assert.deepStrictEqual(
                find(resources, VPC_ATTACHMENT, "ohio-tgw-vpc").inputs.subnetIds,
                written.map((s) => s.subnetId),
            );
            // One zone short is refused before anything is looked up, as it always was.
            t.sites.ohio.aws.attachmentSubnets = written.slice(0, 1);
            const problem = await problemOf({ stack: "ohio", topology: t, allocations: null });
            assert.strictEqual(problem.field, `${S}.ohio.nodes[1].availabilityZone`);
        });
    });
});

describe("AWS ids that cannot be found", () => {
    /** Ohio's stack, with no id written, against the shipped topology's AWS changed by `change`. */
    async function ohioProblem(change: (cloud: FakeAws) => void, topology = withoutAwsIds(exampleTopology())) {
        const cloud = shippedCloud();
        change(cloud);
        return problemOf({ stack: "ohio", topology, aws: cloud });
    }
    const twice = <T>(list: T[], which: (x: T) => boolean) => list.push(structuredClone(list.find(which)!));
    const without = <T>(list: T[], which: (x: T) => boolean) => list.splice(list.findIndex(which), 1);
    const ohioTables = (cloud: FakeAws) => cloud.ec2.routeTables.filter((t) => t.region === "us-east-2");
    /** Node 0's subnet, with no route table associated with it: it is the main table's. */
    const unassociated = (cloud: FakeAws) => {
        const table = cloud.ec2.routeTables.find((t) => t.id === OHIO_RTB)!;
        table.subnetIds = table.subnetIds.filter((s) => s !== OHIO_2A);
    };
    const INSTANCE = /^the instance i-0a10000000000001a \(ec2 describe-instances, instance-id\) in us-east-2 /;
    const SUBNET = new RegExp(`^the subnet ${OHIO_2A} \\(ec2 describe-subnets, subnet-id\\), the subnet of node ${OHIO_NODE}'s instance`);
    const VPC = /^the VPC vpc-0a10000000000000a \(ec2 describe-vpcs, vpc-id\) /;
    const TABLE = new RegExp(`^the route table of subnet ${OHIO_2A} \\(ec2 describe-route-tables, association\\.subnet-id\\) `);
    const MAIN = /the main route table of VPC vpc-0a10000000000000a \(ec2 describe-route-tables, vpc-id, association\.main=true\) /;

    const cases: { lookup: string; change: (cloud: FakeAws) => void; field: string; message: RegExp }[] = [
        {
            lookup: "an instance that is not there",
            change: (c) => without(c.ec2.instances, (i) => i.id === "i-0a10000000000001a"),
            field: `${S}.ohio.nodes[0].instanceId`,
            message: new RegExp(`${INSTANCE.source}finds nothing$`),
        },
        {
            lookup: "an instance there twice",
            change: (c) => twice(c.ec2.instances, (i) => i.id === "i-0a10000000000001a"),
            field: `${S}.ohio.nodes[0].instanceId`,
            message: new RegExp(`${INSTANCE.source}finds more than one$`),
        },
        {
            lookup: "a subnet that is not there",
            change: (c) => without(c.ec2.subnets, (s) => s.id === OHIO_2A),
            field: `${S}.ohio.aws.vpcId`,
            message: new RegExp(`${SUBNET.source}.*, finds nothing: the site's VPC is the one of its routed nodes' subnets$`),
        },
        {
            lookup: "a subnet there twice",
            change: (c) => twice(c.ec2.subnets, (s) => s.id === OHIO_2A),
            field: `${S}.ohio.aws.vpcId`,
            message: new RegExp(`${SUBNET.source}.*, finds more than one`),
        },
        {
            lookup: "a VPC that is not there",
            change: (c) => without(c.ec2.vpcs, (v) => v.id === OHIO_VPC),
            field: `${S}.ohio.aws.vpcCidr`,
            message: new RegExp(`${VPC.source}finds nothing: no bridge range may overlap its CIDR blocks$`),
        },
        {
            lookup: "a VPC there twice",
            change: (c) => twice(c.ec2.vpcs, (v) => v.id === OHIO_VPC),
            field: `${S}.ohio.aws.vpcCidr`,
            message: new RegExp(`${VPC.source}finds more than one`),
        },
        {
            lookup: "no route table for a subnet, and no main route table",
            change: (c) => {
                unassociated(c);
                without(c.ec2.routeTables, (t) => t.region === "us-east-2" && t.main);
            },
            field: `${S}.ohio.aws.routeTableIds`,
            message: new RegExp(
                `${TABLE.source}finds none, so the subnet uses its VPC's main route table, and ${MAIN.source}finds nothing$`,
            ),
        },
        {
            lookup: "two route tables for one subnet",
            change: (c) =>
                ohioTables(c)
                    .find((t) => t.main)!
                    .subnetIds.push(OHIO_2A),
            field: `${S}.ohio.aws.routeTableIds`,
            message: new RegExp(
                `${TABLE.source}finds (rtb-0a10000000000000a, rtb-\\w+|rtb-\\w+, rtb-0a10000000000000a): a subnet has one$`,
            ),
        },
        {
            lookup: "two main route tables",
            change: (c) => {
                unassociated(c);
                twice(c.ec2.routeTables, (t) => t.region === "us-east-2" && t.main);
            },
            field: `${S}.ohio.aws.routeTableIds`,
            message: new RegExp(`${MAIN.source}finds rtb-\\w+, rtb-\\w+$`),
        },
    ];
    for (const { lookup, change, field, message } of cases) {
        it(`${lookup}: names the lookup and the field that pins it, before any change`, async () => {
            const problem = await ohioProblem(change);
            assert.strictEqual(problem.field, field);
            assert.match(problem.message, message);
            // Nothing that changes a cluster or AWS is registered: the providers, at most.
            const changing = problem.registered.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack");
            assert.deepStrictEqual(
                changing.map((r) => `${r.type} ${r.name}`),
                [],
            );
        });
    }

    it("says which written fields would replace a route table lookup: both for an end node's subnet, or the one still left out", async () => {
        const noTable = (c: FakeAws) => {
            unassociated(c);
            without(c.ec2.routeTables, (t) => t.region === "us-east-2" && t.main);
        };
        const both = await ohioProblem(noTable);
        assert.match(both.fix, /^write aws\.routeTableIds \(.*\) and aws\.attachmentSubnets \(.*\) to replace this lookup/);
        const topology = withoutAwsIds(exampleTopology());
        topology.sites.ohio.aws.routeTableIds = [OHIO_RTB];
        const attachments = await ohioProblem(noTable, topology);
        assert.strictEqual(attachments.field, `${S}.ohio.aws.attachmentSubnets`);
        assert.match(attachments.fix, /^write aws\.attachmentSubnets \(each \{subnetId, availabilityZone, routeTableId\}\) to replace/);
    });

    it("says what AWS answered when a lookup is refused, and the permission it needs", async () => {
        const cloud = shippedCloud();
        cloud.ec2.denied.add("getSubnet");
        const { problems } = await problemsOf({ stack: "ohio", topology: withoutAwsIds(exampleTopology()), aws: cloud });
        assert.deepStrictEqual(
            problems.map((p) => p.field),
            [`${S}.ohio.aws.vpcId`, `${S}.ohio.aws.vpcId`],
            "one for each node's subnet",
        );
        const [problem] = problems;
        assert.match(
            problem.message,
            /, fails: reading EC2: operation error EC2: DescribeSubnets, .* UnauthorizedOperation: You are not authorized to perform this operation\.: /,
        );
        assert.match(problem.fix, /may call ec2:DescribeSubnets \(docs\/iam-policy\.json, statement EveryRun\)/);
    });
});

describe("written AWS ids that disagree with what is found", () => {
    it("names the field, the written value and the one found: the VPC", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.aws.vpcId = "vpc-0a1000000000000ff";
        const problem = await problemOf({ stack: "ohio", topology, aws: shippedCloud() });
        assert.strictEqual(problem.field, `${S}.ohio.aws.vpcId`);
        assert.strictEqual(problem.value, "vpc-0a1000000000000ff");
        assert.match(
            problem.message,
            new RegExp(`^the routed nodes' subnets are in VPC ${OHIO_VPC} \\(the subnet subnet-\\w+ \\(ec2 describe-subnets`),
        );
        assert.match(problem.fix, new RegExp(`^set it to ${OHIO_VPC}, or leave it out$`));
    });

    it("the VPC's CIDR block; and a bridge range that overlaps a block found", async () => {
        const cloud = shippedCloud();
        cloud.ec2.vpcs.find((v) => v.id === OHIO_VPC)!.cidrBlocks = [
            { cidrBlock: "10.5.0.0/16", state: "associated" },
            { cidrBlock: "10.20.0.0/20", state: "associated" },
            { cidrBlock: "10.10.0.0/20", state: "disassociated" },
        ];
        const { problems } = await problemsOf({ stack: "ohio", aws: cloud });
        assert.deepStrictEqual(
            problems.map((p) => [p.field, p.value, p.message]),
            [
                [
                    `${S}.ohio.aws.vpcCidr`,
                    "10.0.0.0/16",
                    `not a CIDR block of VPC ${OHIO_VPC}, which has 10.5.0.0/16, 10.20.0.0/20 (the VPC ${OHIO_VPC} (ec2 describe-vpcs, vpc-id))`,
                ],
                [
                    `${S}.mumbai.bridgeRange`,
                    "10.20.0.0/16",
                    `overlaps 10.20.0.0/20, a CIDR block of site ohio's VPC ${OHIO_VPC}: the VPC would route it locally instead of to the nodes`,
                ],
            ],
        );
        // Left out, the CIDR blocks are checked all the same, once found.
        const { problems: found } = await problemsOf({ stack: "ohio", topology: withoutAwsIds(exampleTopology()), aws: cloud });
        assert.deepStrictEqual(
            found.map((p) => p.field),
            [`${S}.mumbai.bridgeRange`],
        );
    });

    it("a node's zone", async () => {
        const cloud = shippedCloud();
        cloud.ec2.instances.find((i) => i.id === "i-0a10000000000002a")!.availabilityZone = "us-east-2c";
        const problem = await problemOf({ stack: "ohio", aws: cloud });
        assert.strictEqual(problem.field, `${S}.ohio.nodes[1].availabilityZone`);
        assert.strictEqual(problem.value, "us-east-2b");
        assert.match(problem.message, /^the instance i-0a10000000000002a \(ec2 describe-instances, instance-id\) is in us-east-2c$/);
    });

    it("refuses routed nodes in two VPCs, naming both", async () => {
        const cloud = shippedCloud();
        const other = { vpc: "vpc-0a1000000000000ee", subnet: "subnet-0a1000000000000ee" };
        cloud.ec2.vpcs.push({ id: other.vpc, region: "us-east-2", cidrBlocks: [{ cidrBlock: "10.6.0.0/16", state: "associated" }] });
        cloud.ec2.subnets.push({ id: other.subnet, region: "us-east-2", vpcId: other.vpc, availabilityZone: "us-east-2b" });
        cloud.ec2.routeTables.push({ id: "rtb-0a1000000000000ee", region: "us-east-2", vpcId: other.vpc, main: true, subnetIds: [] });
        cloud.ec2.instances.find((i) => i.id === "i-0a10000000000002a")!.subnetId = other.subnet;
        const problem = await problemOf({ stack: "ohio", topology: withoutAwsIds(exampleTopology()), aws: cloud });
        assert.strictEqual(problem.field, `${S}.ohio.nodes[1].instanceId`);
        assert.match(
            problem.message,
            new RegExp(
                `^node ${OHIO_NODE_2}'s instance is in VPC ${other.vpc}, and node ${OHIO_NODE}'s in VPC ${OHIO_VPC}: a site's routed nodes share one VPC`,
            ),
        );
    });
});

describe("the source/destination check's delete, run by /bin/sh against a stand-in aws CLI", () => {
    const ENI = "eni-of-i-0a10000000000001a";
    const NOT_FOUND = `An error occurred (InvalidNetworkInterfaceID.NotFound) when calling the ModifyNetworkInterfaceAttribute operation: The networkInterface ID '${ENI}' does not exist`;
    const UNAUTHORIZED =
        "An error occurred (UnauthorizedOperation) when calling the ModifyNetworkInterfaceAttribute operation: You are not authorized to perform this operation.";
    let dir: string;
    let command: { create: string; delete: string };
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-aws-cli-"));
        // The AWS CLI prints a service's error on stderr after an empty line, and exits 254.
        const aws = [
            "#!/bin/sh",
            'echo "$@" >> "$AWS_CALLS"',
            '[ -z "$AWS_ANSWER" ] && exit 0',
            'printf "\\n%s\\n" "$AWS_ANSWER" >&2',
            "exit 254",
            "",
        ];
        fs.writeFileSync(path.join(dir, "aws"), aws.join("\n"), { mode: 0o755 });
        const { resources } = await runProgram({ stack: "ohio" });
        command = find(resources, COMMAND, `ohio-source-dest-check-${OHIO_NODE}`).inputs;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Runs `script` as the command provider does (`/bin/sh -c`), the stand-in aws CLI answering `answer` (nothing: success). */
    function run(script: string, answer = "") {
        const calls = path.join(dir, `calls-${Math.random()}`);
        const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, AWS_ANSWER: answer, AWS_CALLS: calls };
        const result = spawnSync("/bin/sh", ["-c", script], { env, encoding: "utf8" });
        return { ...result, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "" };
    }

    it("turns the check back on", () => {
        const result = run(command.delete);
        assert.strictEqual(result.status, 0, result.stderr);
        assert.strictEqual(
            result.calls,
            `ec2 modify-network-interface-attribute --region us-east-2 --network-interface-id ${ENI} --source-dest-check\n`,
        );
    });

    it("succeeds, and says so, when the interface is gone with its instance (InvalidNetworkInterfaceID.NotFound)", () => {
        const result = run(command.delete, NOT_FOUND);
        assert.strictEqual(result.status, 0, result.stderr);
        assert.match(
            result.stdout,
            new RegExp(`network interface ${ENI} no longer exists \\(InvalidNetworkInterfaceID\\.NotFound\\): nothing to turn back on`),
        );
    });

    it("fails with AWS's words on any other error, and so does the create on that one", () => {
        for (const answer of [UNAUTHORIZED, NOT_FOUND.replace("NotFound", "Malformed")]) {
            const result = run(command.delete, answer);
            assert.strictEqual(result.status, 254, answer);
            assert.ok(result.stderr.includes(answer), result.stderr);
        }
        assert.strictEqual(run(command.create, NOT_FOUND).status, 254);
    });
});
