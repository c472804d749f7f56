// npm run discover: the nodes a stack's sites have now, printed as the topology's own YAML, and
// written back into a topology file without losing its comments; the AWS ids of a routed site,
// found with the aws CLI, printed in its aws block and never written.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { POOL_LABEL } from "../../dev/local/clusterSpecs";
import type { ClusterNode } from "../../planner/cluster/facts";
import { planTopology } from "../../planner/plan";
import { poolsOf } from "../../planner/pools/slots";
import { parseTopology } from "../../planner/topology/schema";
import { awsCliLookups, hasAwsCli } from "../../lib/awsCliLookups";
import { pinnedSitesYaml, setNodePins, SHIPPED_PROJECT, shippedTopology } from "../../lib/topologyFile";
import { FakeEc2 } from "../support/fakeEc2";
import { exampleTopology, plannerFiles, standInBinary, topologyNodes } from "../support/harness";

const POOL = { "node-role.kubernetes.io/plumr": "" };
const node = (name: string, zone: string, instance: string): ClusterNode => ({
    name,
    providerId: `aws:///${zone}/${instance}`,
    labels: { "topology.kubernetes.io/zone": zone, ...POOL },
    ready: true,
});

describe("npm run discover", () => {
    it("prints a pool's nodes as a pinned nodes block, each with its slot, that plans to the same nodes", () => {
        const topology = exampleTopology();
        delete topology.sites.ohio.nodes;
        topology.sites.ohio.pool = { selector: POOL };
        topology.sites.ohio.aws = { region: "us-east-2", routing: "none" };
        topology.links[0].ends[0] = { site: "ohio" };
        const clusters = { ohio: [node("ohio-b", "us-east-2b", "i-0b"), node("ohio-a", "us-east-2a", "i-0a")] };
        const parsed = parseTopology(topology);
        const plan = planTopology(parsed, plannerFiles(), poolsOf(parsed, clusters));
        const text = pinnedSitesYaml(plan, ["ohio"]);
        assert.match(
            text,
            /# slot 1 of the pool\n\s+- name: ohio-a\n\s+range: 10\.10\.1\.0\/24\n\s+instanceId: i-0a\n\s+availabilityZone: us-east-2a/,
        );
        const pinned = exampleTopology();
        pinned.sites.ohio = { ...topology.sites.ohio, pool: undefined, nodes: YAML.parse(text).sites.ohio.nodes };
        delete pinned.sites.ohio.pool;
        pinned.links[0].ends[0] = { site: "ohio", node: "ohio-a" };
        const again = planTopology(parseTopology(pinned), plannerFiles());
        assert.deepStrictEqual(
            again.sites.ohio.nodes.map((n) => [n.name, n.range]),
            plan.sites.ohio.nodes.map((n) => [n.name, n.range]),
        );
    });

    it("writes the instances and zones the cluster says into a project file, keeping its comments, and says what it left", () => {
        const text = [
            "name: plumr",
            "config:",
            "  plumr:topology:",
            "    value:",
            "      sites:",
            "        ohio:",
            "          # the workers",
            "          nodes:",
            "            - name: a   # worker 1",
            "              range: 10.10.1.0/24",
            "              instanceId: i-old",
            "            - name: b",
            "              range: 10.10.2.0/24",
            "",
        ].join("\n");
        const pins = new Map([["a", { instanceId: "i-new", availabilityZone: "us-east-2a" }]]);
        const { text: written, changes } = setNodePins(text, "ohio", pins, true);
        assert.deepStrictEqual(changes, [
            "sites.ohio.nodes[0].instanceId: i-old → i-new",
            "sites.ohio.nodes[0].availabilityZone: (none) → us-east-2a",
            "sites.ohio.nodes[1]: the cluster has no node b (replaced?); left as it is",
        ]);
        assert.match(written, /# the workers/);
        assert.match(written, /- name: a # worker 1/);
        const nodes = YAML.parse(written).config["plumr:topology"].value.sites.ohio.nodes;
        assert.deepStrictEqual(nodes[0], { name: "a", range: "10.10.1.0/24", instanceId: "i-new", availabilityZone: "us-east-2a" });
        assert.deepStrictEqual(nodes[1], { name: "b", range: "10.10.2.0/24" });
        assert.strictEqual(setNodePins(written, "ohio", pins, true).changes.length, 1, "written once, current after");
    });
});

describe("npm run discover on a site routed through a Transit Gateway, run against stand-ins of pulumi, kubectl and the aws CLI", () => {
    const ROOT = path.join(__dirname, "..", "..");
    const STACK = "ohio";
    const PROFILE = "ohio-admin";
    /** The shipped topology, its Ohio site a Kubernetes cluster (the preflight then asks nothing of OpenShift). */
    const topology = shippedTopology();
    topology.sites.ohio.platform = "kubernetes";
    const clusterNodes = topologyNodes(topology, STACK);
    let dir: string;
    let project: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-discover-"));
        project = path.join(dir, "project");
        for (const sub of ["project/plumr", "project/binaries", "tools", "aws"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
        fs.copyFileSync(SHIPPED_PROJECT, path.join(project, "Pulumi.yaml"));
        for (const file of ["config.template.json", "allocations.json"])
            fs.copyFileSync(path.join(ROOT, "plumr", file), path.join(project, "plumr", file));
        for (const name of ["plumr", "shm_printer"]) fs.writeFileSync(path.join(project, "binaries", name), standInBinary(name));
        const nodes = {
            kind: "NodeList",
            items: clusterNodes.map((n) => ({
                metadata: { name: n.name, labels: { "kubernetes.io/arch": "amd64", ...n.labels } },
                spec: { providerID: n.providerId },
                status: { conditions: [{ type: "Ready", status: "True" }], nodeInfo: { operatingSystem: "linux" } },
            })),
        };
        fs.writeFileSync(path.join(dir, "nodes.json"), JSON.stringify(nodes));
        const script = (file: string, lines: string[]) => fs.writeFileSync(file, ["#!/bin/sh", ...lines, ""].join("\n"), { mode: 0o755 });
        script(path.join(dir, "tools", "pulumi"), [
            'case "$1" in',
            `    version) echo v${require("@pulumi/pulumi/package.json").version} ;;`,
            '    stack) [ "$2" = select ] ;;',
            `    config) cat '${dir}/config.json' ;;`,
            '    *) echo "the stand-in pulumi knows no such command: $*" >&2; exit 1 ;;',
            "esac",
        ]);
        // The cluster: a kubectl whose proxy answers like it (fakeKubectl.js, told by $PLUMR_FAKE_KUBECTL).
        fs.mkdirSync(path.join(dir, "cluster"));
        const ok = (body: unknown) => ({ status: 200, body });
        const answers = {
            "GET /version": ok({ gitVersion: "v1.34.2" }),
            "GET /api/v1/nodes": ok(nodes),
            "GET /apis/k8s.cni.cncf.io/v1": ok({ kind: "APIResourceList" }),
        };
        fs.writeFileSync(path.join(dir, "cluster", "answers.json"), JSON.stringify({ answers }));
        fs.symlinkSync(path.join(ROOT, "test", "support", "fakeKubectl.js"), path.join(dir, "tools", "kubectl"));
        fs.symlinkSync(path.join(ROOT, "test", "support", "fakeAwsCli.js"), path.join(dir, "aws", "aws"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** EC2 holding what the topology describes, on the instances of the cluster's nodes. */
    const ec2 = () => {
        const model = new FakeEc2((instanceId) => `eni-of-${instanceId}`);
        model.describeTopology(topology, () => clusterNodes);
        return model;
    };

    interface Run {
        /** What EC2 holds (default: ec2()); null: no aws CLI on PATH at all. */
        ec2?: FakeEc2 | null;
        /** The EC2 operations the credentials may not call (the aws CLI answers UnauthorizedOperation). */
        denied?: string[];
        /** The region's Transit Gateways and their route tables, as fakeAwsCli.js reads them. */
        transitGateways?: { id: string; region: string; defaultRouteTableAssociation: string; associationDefaultRouteTableId: string }[];
        gatewayRouteTables?: { id: string; region: string; transitGatewayId: string }[];
        /** The Ohio site's aws block (default: the shipped one's). */
        aws?: Record<string, unknown>;
        /** Ohio's awsRoleArn in plumr:access (default: none). */
        roleArn?: string;
        args?: string[];
    }

    /** Writes what `model` and `run` hold of EC2 where fakeAwsCli.js reads it ($FAKE_AWS_EC2). */
    function writeEc2(model: FakeEc2, run: Run = {}): void {
        const { instances, subnets, vpcs, routeTables } = model;
        const { denied = [], transitGateways = [], gatewayRouteTables = [] } = run;
        const written = { instances, subnets, vpcs, routeTables, transitGateways, gatewayRouteTables, denied };
        fs.writeFileSync(path.join(dir, "ec2.json"), JSON.stringify(written));
    }

    /**
     * Runs `npm run discover -- ohio <args>` with the stand-ins first on PATH (the stack's
     * configuration: the topology with `aws` as Ohio's aws block, and an AWS profile for Ohio), and
     * every aws CLI of the machine off PATH: what it printed, and each call of the aws CLI.
     */
    function discover(run: Run = {}) {
        const site = { ...topology.sites.ohio, ...(run.aws && { aws: run.aws }) };
        // The stack's configuration, as `pulumi config --json` prints it.
        const config = {
            "plumr:topology": { value: JSON.stringify({ ...topology, sites: { ...topology.sites, ohio: site } }), secret: false },
            "plumr:access": {
                value: JSON.stringify({
                    ohio: { kubeconfig: "kubeconfig-of-ohio", awsProfile: PROFILE, ...(run.roleArn && { awsRoleArn: run.roleArn }) },
                }),
                secret: true,
            },
        };
        fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
        writeEc2(run.ec2 ?? ec2(), run);
        const calls = path.join(dir, `aws-calls-${Math.random()}`);
        const elsewhere = (process.env.PATH ?? "").split(path.delimiter).filter((d) => !hasAwsCli({ PATH: d }));
        const PATH = [
            ...(run.ec2 !== null ? [path.join(dir, "aws")] : []),
            path.join(dir, "tools"),
            path.dirname(process.execPath),
            ...elsewhere,
        ].join(path.delimiter);
        assert.strictEqual(hasAwsCli({ PATH }), run.ec2 !== null, "the aws CLI is on PATH exactly when the test gives one");
        const result = spawnSync(
            process.execPath,
            [
                require.resolve("ts-node/dist/bin"),
                "--transpile-only",
                path.join(ROOT, "commands", "discover.ts"),
                STACK,
                "--cwd",
                project,
                ...(run.args ?? []),
            ],
            {
                cwd: ROOT,
                env: {
                    ...process.env,
                    PATH,
                    FAKE_AWS_EC2: path.join(dir, "ec2.json"),
                    FAKE_AWS_CALLS: calls,
                    PLUMR_FAKE_KUBECTL: path.join(dir, "cluster"),
                },
                encoding: "utf8",
                timeout: 60_000,
            },
        );
        const made = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [];
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: made };
    }

    it("prints the AWS ids it finds with the aws CLI in the site's aws block, exactly EC2's, as the site's profile in its region", () => {
        const model = ec2();
        const result = discover({ ec2: model });
        assert.strictEqual(result.status, 0, result.stderr);
        assert.match(result.stdout, /AWS ids found for them \(aws CLI\): written into the topology, each one pins it/);
        const site = YAML.parse(result.stdout).sites.ohio;
        assert.deepStrictEqual(
            site.nodes.map((n: any) => `${n.name} aws:///${n.availabilityZone}/${n.instanceId}`),
            clusterNodes.filter((n) => n.labels?.[POOL_LABEL] !== undefined).map((n) => `${n.name} ${n.providerId}`),
        );
        const [vpc] = model.vpcs;
        const instances = model.instances.filter((i) => clusterNodes.some((n) => n.providerId.endsWith(`/${i.id}`)));
        // The link's Ohio end (10.10.1.200) is in slot 1, on the pool's first node: its subnet is the one attachment subnet.
        const end = instances.find((i) => i.id === site.nodes[0].instanceId)!;
        const table = (subnetId: string) => model.routeTables.find((t) => t.subnetIds.includes(subnetId))!.id;
        assert.deepStrictEqual(site.aws, {
            region: "us-east-2",
            routing: "transitGateway",
            transitGatewayAsn: 64512,
            vpcId: vpc.id,
            vpcCidr: vpc.cidrBlocks[0].cidrBlock,
            routeTableIds: [...new Set(instances.map((i) => table(i.subnetId)))],
            attachmentSubnets: [{ subnetId: end.subnetId, availabilityZone: end.availabilityZone, routeTableId: table(end.subnetId) }],
            securityGroupIds: [...new Set(instances.flatMap((i) => i.securityGroupIds))],
        });
        assert.ok(
            result.calls.length > 0 && result.calls.every((c) => c.includes(`--region us-east-2 --profile ${PROFILE} --output json`)),
            result.calls.join("\n"),
        );
    });

    it("reads the aws CLI's answers as the provider's lookups give them: an instance's primary interface is its device 0", async () => {
        const model = ec2();
        writeEc2(model);
        const env = {
            PATH: [path.join(dir, "aws"), path.dirname(process.execPath)].join(path.delimiter),
            FAKE_AWS_EC2: path.join(dir, "ec2.json"),
        };
        const lookups = awsCliLookups("us-east-2", {}, env);
        const [instance] = model.instances;
        // The stand-in lists each instance's second interface (device 1) first.
        assert.deepStrictEqual(await lookups.instance(instance.id), {
            subnetId: instance.subnetId,
            availabilityZone: instance.availabilityZone,
            networkInterfaceId: `eni-of-${instance.id}`,
            securityGroupIds: instance.securityGroupIds,
        });
        await assert.rejects(lookups.instance("i-0ffffffffffffffff"), /^Error: no matching EC2 Instance found/);
        await assert.rejects(lookups.vpc("vpc-0ffffffffffffffff"), /^Error: no matching EC2 VPC found/);
        assert.deepStrictEqual(await lookups.routeTables([{ name: "association.subnet-id", values: ["subnet-0ffffffffffffffff"] }]), []);
    });

    it("prints, once its aws block is pasted, the same ids with no route table looked up; a pasted id that AWS contradicts fails", () => {
        const found = YAML.parse(discover().stdout).sites.ohio.aws;
        const pinned = discover({ aws: found });
        assert.strictEqual(pinned.status, 0, pinned.stderr);
        assert.deepStrictEqual(YAML.parse(pinned.stdout).sites.ohio.aws, found);
        assert.ok(!pinned.calls.some((c) => c.includes("describe-route-tables")), pinned.calls.join("\n"));

        const wrong = discover({ aws: { ...found, vpcId: "vpc-0ffffffffffffffff" } });
        assert.strictEqual(wrong.status, 1, wrong.stdout);
        assert.match(
            wrong.stderr,
            new RegExp(
                `- plumr:topology\\.sites\\.ohio\\.aws\\.vpcId = "vpc-0ffffffffffffffff": the routed nodes' subnets are in VPC ${found.vpcId}`,
            ),
        );
    });

    it("finds a subnet with no route table of its own routed by its VPC's main route table, and prints that table", () => {
        const model = ec2();
        const own = model.routeTables.find((t) => !t.main && t.subnetIds.length > 0)!;
        const main = model.routeTables.find((t) => t.main && t.vpcId === own.vpcId)!;
        own.subnetIds = [];
        const result = discover({ ec2: model });
        assert.strictEqual(result.status, 0, result.stderr);
        const aws = YAML.parse(result.stdout).sites.ohio.aws;
        assert.deepStrictEqual(aws.routeTableIds, [main.id]);
        assert.deepStrictEqual(
            aws.attachmentSubnets.map((s: any) => s.routeTableId),
            [main.id],
        );
        assert.ok(
            result.calls.some((c) => c.includes(`--filters Name=vpc-id,Values=${own.vpcId} Name=association.main,Values=true`)),
            result.calls.join("\n"),
        );
    });

    it("prints the route table of an existing Transit Gateway the site names: its default association table, or the one written", () => {
        const gateway = "tgw-0e1e2e3e4e5e6e7e8";
        const [byDefault, other] = ["tgw-rtb-0e1e2e3e4e5e6e7e8", "tgw-rtb-0f1f2f3f4f5f6f7f8"];
        const aws = { region: "us-east-2", routing: "transitGateway", transitGatewayId: gateway };
        const withGateway = (association: string, defaultTable: string) => ({
            transitGateways: [
                {
                    id: gateway,
                    region: "us-east-2",
                    defaultRouteTableAssociation: association,
                    associationDefaultRouteTableId: defaultTable,
                },
            ],
            gatewayRouteTables: [{ id: other, region: "us-east-2", transitGatewayId: gateway }],
        });
        let result = discover({ ...withGateway("enable", byDefault), aws });
        assert.strictEqual(result.status, 0, result.stderr);
        let printed = YAML.parse(result.stdout).sites.ohio.aws;
        assert.strictEqual(printed.transitGatewayId, gateway);
        assert.strictEqual(printed.transitGatewayAsn, undefined, "the ASN is of a gateway the program creates");
        assert.strictEqual(printed.transitGatewayRouteTableId, byDefault);

        // Default association off: the site names the table, which must be the gateway's.
        result = discover({ ...withGateway("disable", ""), aws: { ...aws, transitGatewayRouteTableId: other } });
        assert.strictEqual(result.status, 0, result.stderr);
        printed = YAML.parse(result.stdout).sites.ohio.aws;
        assert.strictEqual(printed.transitGatewayRouteTableId, other);
        assert.ok(
            result.calls.some((c) => c.startsWith(`ec2 describe-transit-gateway-route-tables --transit-gateway-route-table-ids ${other} `)),
            result.calls.join("\n"),
        );
    });

    it("says, and exits 1, when a lookup is refused (UnauthorizedOperation) or finds nothing, naming the lookup and AWS's words", () => {
        const refused = ec2();
        let result = discover({ ec2: refused, denied: ["DescribeSubnets"] });
        assert.strictEqual(result.status, 1, result.stdout);
        const subnet = refused.instances[0].subnetId;
        assert.match(
            result.stderr,
            new RegExp(
                `the subnet ${subnet} \\(ec2 describe-subnets, subnet-id\\), the subnet of node .*, fails: An error occurred \\(UnauthorizedOperation\\) when calling the DescribeSubnets operation: You are not authorized`,
            ),
        );
        assert.match(result.stderr, /may call ec2:DescribeSubnets/);
        assert.strictEqual(YAML.parse(result.stdout).sites.ohio.aws, undefined, "no AWS id of a site whose lookups failed");
        assert.ok(YAML.parse(result.stdout).sites.ohio.nodes.length > 0, "its nodes all the same");

        const gone = ec2();
        gone.instances.splice(0, 1);
        result = discover({ ec2: gone });
        assert.strictEqual(result.status, 1, result.stdout);
        assert.match(result.stderr, /the instance i-\w+ \(ec2 describe-instances, instance-id\) in us-east-2 finds nothing/);
    });

    it("with an awsRoleArn, assumes the role once from the site's profile and looks everything up as the role, with no profile", () => {
        const role = "arn:aws:iam::123456789012:role/ci/plumr-deployer";
        const result = discover({ roleArn: role });
        assert.strictEqual(result.status, 0, result.stderr);
        assert.deepStrictEqual(YAML.parse(result.stdout).sites.ohio.aws, YAML.parse(discover().stdout).sites.ohio.aws);
        const [first, ...rest] = result.calls;
        assert.strictEqual(
            first,
            `sts assume-role --role-arn ${role} --role-session-name plumr-ohio --region us-east-2 --profile ${PROFILE} --output json`,
        );
        assert.ok(rest.length > 0, result.calls.join("\n"));
        for (const call of rest) {
            assert.match(call, /^ec2 describe-.* \[as ASIA-plumr-ohio\]$/);
            assert.ok(!call.includes("--profile"), call);
        }
    });

    it("with an awsRoleArn it may not assume, looks nothing up and says which role, from which profile, and STS's words", () => {
        const role = "arn:aws:iam::123456789012:role/plumr-deployer";
        const result = discover({ roleArn: role, denied: ["AssumeRole"] });
        assert.strictEqual(result.status, 1, result.stdout);
        assert.match(
            result.stderr,
            new RegExp(
                `could not assume role ${role} \\(plumr:access\\.<site>\\.awsRoleArn\\): An error occurred \\(AccessDenied\\) when calling the AssumeRole operation: .* \\(profile ${PROFILE}\\)`,
            ),
        );
        assert.ok(result.calls.length > 0 && result.calls.every((c) => c.startsWith("sts assume-role")), result.calls.join("\n"));
        assert.strictEqual(YAML.parse(result.stdout).sites.ohio.aws, undefined);
    });

    it("says that the aws CLI is missing, what to install, and that the AWS ids are not printed; prints the nodes and exits 1", () => {
        const result = discover({ ec2: null });
        assert.strictEqual(result.status, 1, result.stdout);
        assert.match(
            result.stderr,
            /ohio: the aws CLI is not installed \(no aws on PATH\), so the AWS ids of the sites are not printed: install the AWS CLI/,
        );
        const site = YAML.parse(result.stdout).sites.ohio;
        assert.strictEqual(site.aws, undefined);
        assert.strictEqual(site.nodes.length, clusterNodes.filter((n) => n.labels?.[POOL_LABEL] !== undefined).length);
    });

    it("--write writes no AWS id into the topology, and says that they are printed for pasting", () => {
        const before = fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8");
        const result = discover({ args: ["--write"] });
        assert.strictEqual(result.status, 0, result.stderr);
        assert.match(result.stdout, /the AWS ids above are printed for pasting: --write does not write them into the topology/);
        assert.strictEqual(fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8"), before);
    });
});
