// The rules that make every configuration a user can write either deploy as meant or fail with
// field, value and fix: the stack's own keys, names checked against where they end up, values that
// must be unique, and the wording of the messages.
import * as assert from "assert";
import { formatProblems, Problems, SECRET } from "../../planner/problems/errors";
import { planTopology } from "../../planner/plan";
import { parseStackSettings } from "../../planner/topology/stackSettings";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, plannerFiles, runProgram } from "../support/harness";
import { Expected, expectProblem, expectRejection, problemsOf } from "../support/problems";

const T = "plumr:topology";
const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";

/** Parses and plans a raw topology. */
const plan = (raw: unknown) => planTopology(parseTopology(raw), plannerFiles());

/** Asserts that planning `raw` fails with a problem for `field`. */
const expectPlanProblem = (raw: unknown, field: string, expected: Expected = {}) => expectProblem(() => plan(raw), field, expected);

/** Reads a stack's own keys, given as the engine passes them (text), and throws what it finds. */
function settings(config: Record<string, string>, secretKeys: string[] = [], sites = ["ohio", "mumbai"]) {
    const problems = new Problems();
    const result = parseStackSettings(config, new Set(secretKeys), sites, problems);
    problems.throwIfAny();
    return result;
}

/** The example topology with `edit` applied. */
function edited(edit: (raw: any) => void): any {
    const raw = exampleTopology();
    edit(raw);
    return raw;
}

describe("the stack's own configuration", () => {
    it("reads the keys as docs/CONFIGURATION.md sets them", () => {
        const read = settings({
            "plumr:sites": '["ohio"]',
            "plumr:access": JSON.stringify({
                ohio: { kubeconfig: "apiVersion: v1\nkind: Config\n", context: "admin", awsProfile: "ohio" },
            }),
            "plumr:peerStacks": '{"mumbai":"acme/plumr/mumbai"}',
            "aws:region": "us-east-2",
        });
        assert.deepStrictEqual(read.sites, ["ohio"]);
        assert.strictEqual(read.access.ohio.context, "admin");
        assert.deepStrictEqual(read.peerStacks, { mumbai: "acme/plumr/mumbai" });
    });

    it("rejects a key set without --path, which would otherwise be ignored, with the commands that set it right", () => {
        const problem = expectProblem(
            () => settings({ "plumr:access.ohio.kubeconfig": "apiVersion: v1" }, ["plumr:access.ohio.kubeconfig"]),
            "plumr:access.ohio.kubeconfig",
            {
                value: SECRET,
                message: /unknown key/,
                fix: /without --path.*pulumi config rm 'plumr:access\.ohio\.kubeconfig'.*--secret --path 'plumr:access\.ohio\.kubeconfig'/,
            },
        );
        assert.ok(!formatProblems([problem]).includes("apiVersion"));
    });

    it("rejects plumr: keys the program does not read, pointing at the right one", () => {
        expectProblem(() => settings({ "plumr:site": '["ohio"]' }), "plumr:site", { fix: /did you mean plumr:sites\?/ });
        expectProblem(() => settings({ "plumr:tunnel": "{}" }), "plumr:tunnel", {
            fix: /part of the topology: move it into plumr:topology/,
        });
        expectProblem(() => settings({ "plumr:kubeconfig": "x" }), "plumr:kubeconfig", { fix: /'plumr:access\.<site>\.kubeconfig'/ });
    });

    it("gives the pulumi config commands when plumr:sites is plain text, not a list", () => {
        expectProblem(() => settings({ "plumr:sites": "ohio" }), "plumr:sites", {
            value: "ohio",
            message: /not a list or map: it was set as plain text/,
            fix: /pulumi config rm plumr:sites && pulumi config set --path 'plumr:sites\[0\]' ohio$/,
        });
        expectProblem(() => settings({ "plumr:sites": "ohio, mumbai" }), "plumr:sites", {
            fix: /'plumr:sites\[0\]' ohio && pulumi config set --path 'plumr:sites\[1\]' mumbai$/,
        });
    });

    it("never shows plumr:access when it is not JSON: it holds kubeconfigs", () => {
        const secret = "client-key-data: c2VjcmV0LWtleQ==";
        const { problems, message } = problemsOf(() => settings({ "plumr:access": `{ohio: {kubeconfig: ${secret}}}` }, ["plumr:access"]));
        assert.deepStrictEqual(
            problems.map((p) => [p.field, p.value]),
            [["plumr:access", SECRET]],
        );
        assert.ok(!message.includes("c2VjcmV0"), message);
        assert.match(problems[0].fix, /pulumi config set --secret --path 'plumr:access\.ohio\.kubeconfig'/);
    });

    it("rejects a site's access in the wrong shape, or with a misspelt key", () => {
        expectProblem(() => settings({ "plumr:access": '{"ohio":"apiVersion: v1"}' }), "plumr:access.ohio", {
            value: SECRET,
            message: /expected a map with kubeconfig/,
            fix: /pulumi config rm --path 'plumr:access\.ohio'/,
        });
        expectProblem(() => settings({ "plumr:access": '{"ohio":{"kubeConfig":"x"}}' }), "plumr:access.ohio.kubeConfig", {
            value: SECRET,
            message: /unknown key/,
            fix: /did you mean kubeconfig\?/,
        });
        expectProblem(
            () => settings({ "plumr:access": '{"ohio":{"kubeconfig":"x","awsProfile":"my profile"}}' }),
            "plumr:access.ohio.awsProfile",
            {
                message: /has a space at character 3/,
            },
        );
    });

    it("reads a site's awsRoleArn, and rejects one that is not an IAM role's ARN, showing it, with the form to write", () => {
        const access = (awsRoleArn: string) => ({
            "plumr:access": JSON.stringify({ ohio: { kubeconfig: "x", awsProfile: "ohio", awsRoleArn } }),
        });
        for (const good of [
            "arn:aws:iam::123456789012:role/plumr-deployer",
            "arn:aws-us-gov:iam::123456789012:role/ci/github/plumr-deployer",
            "arn:aws-cn:iam::123456789012:role/a+b=c,d.e@f_g-h",
        ]) {
            assert.strictEqual(settings(access(good)).access.ohio.awsRoleArn, good);
        }
        const cases: [string, RegExp, RegExp][] = [
            ["plumr-deployer", /not an ARN/, /aws iam get-role/],
            ["arn:aws:iam::123456789012:user/ci", /not a role/, /not of a user or policy/],
            ["arn:aws:sts::123456789012:assumed-role/ci/session", /not an IAM ARN/, /arn:aws:iam::123456789012:role\//],
            ["arn:aws:iam:us-east-2:123456789012:role/ci", /not an IAM ARN.*no region/, /e\.g\./],
            ["arn:aws:iam::12345678901:role/ci", /the account "12345678901" is not 12 digits/, /12 digits/],
            ["arn:amazon:iam::123456789012:role/ci", /unknown partition "amazon"/, /as IAM shows it/],
            ["arn:aws:iam::123456789012:role/", /not a role/, /e\.g\. arn:aws:iam::123456789012:role\/plumr-deployer/],
            [" arn:aws:iam::123456789012:role/ci", /has a space at its start/, /remove it/],
        ];
        for (const [bad, message, fix] of cases) {
            expectProblem(() => settings(access(bad)), "plumr:access.ohio.awsRoleArn", { value: bad, message, fix });
        }
    });

    it("suggests awsRoleArn for a misspelt role key of a site's access", () => {
        expectProblem(
            () => settings({ "plumr:access": '{"ohio":{"kubeconfig":"x","roleArn":"arn:aws:iam::123456789012:role/ci"}}' }),
            "plumr:access.ohio.roleArn",
            {
                message: /unknown key/,
                fix: /did you mean awsRoleArn\?/,
            },
        );
    });

    it("rejects a peer stack name that is not one", () => {
        expectProblem(() => settings({ "plumr:peerStacks": '{"mumbai":"acme/plumr/mumbai/prod"}' }), "plumr:peerStacks.mumbai", {
            message: /not a stack name/,
        });
    });

    it("rejects access to a site the stack does not deploy, or that does not exist", async () => {
        const access = { ohio: { kubeconfig: "kubeconfig-of-ohio" }, mumbai: { kubeconfig: "kubeconfig-of-mumbai" } };
        await expectRejection(runProgram({ stack: "ohio", access }), "plumr:access.mumbai", {
            value: SECRET,
            message: /not one this stack deploys \(ohio\)/,
            fix: /pulumi config set --path 'plumr:sites\[1\]' mumbai.*pulumi config rm --path 'plumr:access\.mumbai'/,
        });
        await expectRejection(
            runProgram({ stack: "ohio", access: { ...access, mumbia: { kubeconfig: "x" } }, sites: ["ohio", "mumbai"] }),
            "plumr:access.mumbia",
            {
                message: /not a site of the topology/,
            },
        );
    });

    it("rejects two sites of one stack in the same namespace of the same cluster", async () => {
        const same = { kubeconfig: "kubeconfig-of-ohio" };
        await expectRejection(
            runProgram({ stack: "both", sites: ["ohio", "mumbai"], access: { ohio: same, mumbai: same } }),
            "plumr:access.mumbai",
            {
                message: /plumr:access\.ohio has this cluster and namespace too/,
            },
        );
    });

    it("rejects peer stacks for sites that are not peers of this stack's sites", async () => {
        const topology = edited((raw) => {
            raw.sites.tokyo = structuredClone(raw.sites.mumbai);
            raw.sites.tokyo.bridgeRange = "10.30.0.0/16";
            raw.sites.tokyo.nodes = [{ name: "tokyo-node", range: "10.30.1.0/24" }];
            delete raw.sites.tokyo.aws;
        });
        const run = (peerStacks: Record<string, string>) => runProgram({ stack: "ohio", topology, peerStacks, allocations: null });
        await expectRejection(run({ tokyo: "acme/plumr/tokyo" }), "plumr:peerStacks.tokyo", {
            message: /no site of this stack \(ohio\) has a link to site tokyo/,
        });
        await expectRejection(run({ ohio: "acme/plumr/ohio" }), "plumr:peerStacks.ohio", { message: /deployed by this stack itself/ });
        await expectRejection(run({ osaka: "acme/plumr/osaka" }), "plumr:peerStacks.osaka", { message: /not a site of the topology/ });
    });

    it("rejects a site listed twice in plumr:sites, naming both entries", async () => {
        await expectRejection(runProgram({ stack: "ohio", sites: ["ohio", "mumbai", "ohio"] }), "plumr:sites[2]", {
            message: /^plumr:sites\[0\] has this site too$/,
        });
    });
});

describe("names checked against where they end up", () => {
    it("refuses a tunDevice it does not know, naming the field, the value and the ways it knows", () => {
        const problem = expectPlanProblem(
            edited((t) => (t.sites.ohio.tunDevice = "priviliged")),
            "plumr:topology.sites.ohio.tunDevice",
        );
        assert.strictEqual(problem.value, "priviliged");
        assert.match(`${problem.message} ${problem.fix}`, /hostPath.*crioAnnotation.*privileged/);
    });

    it("refuses a namespace of the cluster itself, which the program would label privileged", () => {
        for (const namespace of ["kube-system", "default", "openshift-sdn"]) {
            expectProblem(() => parseTopology(edited((raw) => (raw.sites.ohio.namespace = namespace))), `${T}.sites.ohio.namespace`, {
                value: namespace,
                message: /a namespace of the cluster itself/,
            });
        }
    });

    it("refuses node names the nodes' hostname label cannot have", () => {
        const node = (name: string) => edited((raw) => (raw.sites.ohio.nodes[0].name = name));
        expectProblem(() => parseTopology(node("IP-10-0-154-10.us-east-2.compute.internal")), `${T}.sites.ohio.nodes[0].name`, {
            message: /upper-case/,
            fix: /ip-10-0-154-10\.us-east-2\.compute\.internal/,
        });
        expectProblem(() => parseTopology(node(`${OHIO_NODE} `)), `${T}.sites.ohio.nodes[0].name`, { message: /has a space at its end/ });
        expectProblem(() => parseTopology(node(`${"a".repeat(64)}`)), `${T}.sites.ohio.nodes[0].name`, { message: /at most 63/ });
    });

    it("refuses interface names Linux cannot have or the nodes and pods already use", () => {
        expectProblem(
            () => parseTopology(edited((raw) => (raw.sites.ohio.bridgeName = "br-plumr-overlay"))),
            `${T}.sites.ohio.bridgeName`,
            {
                message: /at most 15 characters/,
            },
        );
        for (const bridge of ["br-ex", "eth0", "ens5", "cni0"]) {
            expectPlanProblem(
                edited((raw) => (raw.sites.ohio.bridgeName = bridge)),
                `${T}.sites.ohio.bridgeName`,
                {
                    message: /a name the nodes' own interfaces use/,
                },
            );
        }
        for (const device of ["net1", "eth0", "lo"]) {
            expectPlanProblem(
                edited((raw) => (raw.tunnel.device = device)),
                `${T}.tunnel.device`,
                { message: /already has an interface/ },
            );
        }
        expectProblem(() => parseTopology(edited((raw) => (raw.tunnel.device = "tun;reboot"))), `${T}.tunnel.device`, {
            message: /not a usable interface name/,
        });
    });

    it("refuses image references a container runtime cannot pull", () => {
        expectProblem(
            () => parseTopology(edited((raw) => (raw.sites.ohio.workload.image = "https://quay.io/dosmith/fedora-vlc-iptools:gen2"))),
            `${T}.sites.ohio.workload.image`,
            { message: /an image reference has no scheme/, fix: /remove it: quay\.io\/dosmith\/fedora-vlc-iptools:gen2/ },
        );
        expectProblem(
            () => parseTopology(edited((raw) => (raw.binaries.installerImage = "docker.io/library/BusyBox:1.36"))),
            `${T}.binaries.installerImage`,
            {
                message: /upper-case/,
            },
        );
    });

    it("keeps the installer out of system directories, and wants an absolute, normalized path", () => {
        const hostPath = (value: string) => () => parseTopology(edited((raw) => (raw.binaries.hostPath = value)));
        for (const value of ["/usr/bin", "/etc/plumr", "/var/lib/kubelet/plumr", "/", "/var/lib", "/opt/cni/bin"]) {
            expectProblem(hostPath(value), `${T}.binaries.hostPath`, {
                value,
                message: /a system directory the installer must never write into/,
            });
        }
        expectProblem(hostPath("var/lib/plumr"), `${T}.binaries.hostPath`, { message: /a relative path/ });
        expectProblem(hostPath("/var/lib/plumr/../kubelet"), `${T}.binaries.hostPath`, {
            message: /not a normalized path: it means \/var\/lib\/kubelet/,
        });
        expectProblem(hostPath("/var/lib/plumr/bin/"), `${T}.binaries.hostPath`, { fix: /^write \/var\/lib\/plumr\/bin$/ });
        for (const value of ["/var/lib/plumr/bin", "/opt/plumr", "/usr/local/plumr"])
            parseTopology(edited((raw) => (raw.binaries.hostPath = value)));
    });

    it("refuses link names whose objects would read as the site's own", () => {
        expectPlanProblem(
            edited((raw) => (raw.links[0].name = "installer")),
            `${T}.links[0].name`,
            { message: /plumr-installer/ },
        );
    });

    it("refuses names that would give two link ends, or two peerings, the same resources", () => {
        const raw = exampleTopology();
        raw.sites["ohio-a"] = structuredClone(raw.sites.ohio);
        raw.sites["ohio-a"].bridgeRange = "10.30.0.0/16";
        raw.sites["ohio-a"].nodes = [
            { ...raw.sites.ohio.nodes[0], name: "node-a", range: "10.30.1.0/24", instanceId: "i-0aaaaaaaaaaaaaaa1" },
        ];
        raw.links = [
            {
                name: "a-mumbai",
                ends: [
                    { site: "ohio", node: OHIO_NODE },
                    { site: "mumbai", node: raw.links[0].ends[1].node },
                ],
            },
            {
                name: "mumbai",
                ends: [
                    { site: "ohio-a", node: "node-a" },
                    { site: "ohio", node: OHIO_NODE },
                ],
            },
        ];
        expectPlanProblem(raw, `${T}.links[1].ends[0].site`, {
            message: /links\[0\]\.ends\[0\]\.site has this resource name \(<site>-<endpoint or link>\) too/,
        });

        const pairs = exampleTopology();
        for (const [name, range] of [
            ["a-b", "10.30.0.0/16"],
            ["b-c", "10.40.0.0/16"],
            ["a", "10.50.0.0/16"],
            ["c", "10.60.0.0/16"],
        ]) {
            pairs.sites[name] = structuredClone(pairs.sites.ohio);
            pairs.sites[name].bridgeRange = range;
            pairs.sites[name].nodes = [
                {
                    ...pairs.sites.ohio.nodes[0],
                    name: `node-${name}`,
                    range: range.replace(".0.0/16", ".1.0/24"),
                    instanceId: `i-0${name.replace("-", "")}aaaaaaaaaaaa`.slice(0, 19),
                },
            ];
        }
        pairs.links = [
            {
                name: "one",
                ends: [
                    { site: "a-b", node: "node-a-b" },
                    { site: "c", node: "node-c" },
                ],
            },
            {
                name: "two",
                ends: [
                    { site: "a", node: "node-a" },
                    { site: "b-c", node: "node-b-c" },
                ],
            },
        ];
        expectPlanProblem(pairs, `${T}.links[1].ends`, {
            message: /the peering of sites a and b-c would be named a-b-c, like the peering of sites a-b and c/,
        });
    });
});

describe("values that must be unique", () => {
    it("names both places of an instance id used twice", () => {
        const raw = edited((r) => (r.sites.ohio.nodes[1].instanceId = r.sites.ohio.nodes[0].instanceId));
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[1].instanceId`, {
            message: /^plumr:topology\.sites\.ohio\.nodes\[0\]\.instanceId has this instance id too$/,
        });
    });

    it("names both places of a Transit Gateway two sites share", () => {
        const raw = edited((r) => {
            r.sites.ohio.aws.transitGatewayId = "tgw-0a1b2c3d4e5f60718";
            r.sites.mumbai.aws.transitGatewayId = "tgw-0a1b2c3d4e5f60718";
        });
        expectPlanProblem(raw, `${T}.sites.mumbai.aws.transitGatewayId`, {
            message: /sites\.ohio\.aws\.transitGatewayId has this Transit Gateway too/,
        });
    });

    it("names both places of a route table, security group or subnet listed twice", () => {
        const raw = edited((r) => {
            r.sites.ohio.aws.routeTableIds.push(r.sites.ohio.aws.routeTableIds[0]);
            r.sites.ohio.aws.securityGroupIds.push(r.sites.ohio.aws.securityGroupIds[0]);
            r.sites.ohio.aws.attachmentSubnets.push({ ...r.sites.ohio.aws.attachmentSubnets[0], availabilityZone: "us-east-2c" });
        });
        const ids = raw.sites.ohio.aws;
        expectPlanProblem(raw, `${T}.sites.ohio.aws.routeTableIds[${ids.routeTableIds.length - 1}]`, {
            message: /routeTableIds\[0\] has this route table too/,
        });
        expectPlanProblem(raw, `${T}.sites.ohio.aws.securityGroupIds[${ids.securityGroupIds.length - 1}]`, {
            message: /securityGroupIds\[0\] has this security group too/,
        });
        expectPlanProblem(raw, `${T}.sites.ohio.aws.attachmentSubnets[${ids.attachmentSubnets.length - 1}].subnetId`, {
            message: /attachmentSubnets\[0\]\.subnetId has this subnet too/,
        });
    });
});

describe("every problem in one run", () => {
    it("checks a site whose name is wrong inside too", () => {
        const raw = edited((r) => {
            r.sites.Ohio = r.sites.ohio;
            delete r.sites.ohio;
            r.sites.Ohio.aws.regoin = "us-east-2";
        });
        expectProblem(() => parseTopology(raw), `${T}.sites.Ohio`, {
            value: "Ohio",
            message: /a site name must be lower-case/,
            fix: /rename it, e\.g\. ohio/,
        });
        expectProblem(() => parseTopology(raw), `${T}.sites.Ohio.aws.regoin`, { message: /unknown key/, fix: /did you mean region\?/ });
    });
});

describe("messages", () => {
    it("show the wrong part of a long value, not its beginning", () => {
        const long = `${"a".repeat(90)} b`;
        const { message } = problemsOf(() => parseTopology(edited((raw) => (raw.sites.ohio.nodes[0].name = long))));
        assert.match(message, /"…a+ b" \(characters \d+ to 92 of 92\)/);
    });

    it("use the user's words for shapes, never the schema library's", () => {
        const raw = edited((r) => {
            r.links[0].ends = [r.links[0].ends[0]];
            r.sites.ohio.nodes = { name: OHIO_NODE };
            r.tunnel.prefixLength = 29;
        });
        const { message } = problemsOf(() => parseTopology(raw));
        assert.doesNotMatch(message, /tuple|record|Invalid input|received|expected (string|number|array|object)\b/);
        assert.match(message, /links\[0\]\.ends = .*needs exactly 2 entries, has 1/);
        assert.match(message, /nodes = .*expected a list of nodes, each \{name.*found a map of keys and values/);
    });
});
