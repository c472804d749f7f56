// The preflight: what the program reads from each site's cluster before any change, and how it
// holds it against the plan. The reader runs for real against a kubectl that answers like a cluster.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../planner/problems/errors";
import { planTopology } from "../../planner/plan";
import { ClusterFacts, parseClusterFacts, parseNode } from "../../planner/cluster/facts";
import { accessReviews, rightsNeeded } from "../../planner/cluster/rights";
import { checkCluster } from "../../planner/cluster/preflight";
import { ClusterQuestions, readCluster } from "../../program/clusterReader";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, plannerFiles, preflightOutput, runProgram, topologyNodes } from "../support/harness";

const T = "plumr:topology";

/** The facts of a healthy cluster for `site` of `topology`: Kubernetes 1.34, its nodes on their instances, amd64. */
function healthy(topology: any, site: string): ClusterFacts {
    return {
        serverVersion: "v1.34.2",
        nodes: topologyNodes(topology, site).map((n) => ({ ...n, arch: "amd64" })),
        networkOperator: null,
        vpcCni: null,
        canUsePrivilegedScc: true,
    };
}

/** The problems the preflight finds at `site`, with `change` applied to a healthy cluster's facts. */
function problemsAt(site: string, change: (facts: ClusterFacts) => void, edit: (topology: any) => void = () => {}) {
    const topology = exampleTopology();
    edit(topology);
    const facts = healthy(topology, site);
    change(facts);
    const checks = checkCluster(planTopology(parseTopology(topology), plannerFiles()), site, facts);
    return checks.flatMap((c) => c.problems);
}

describe("the preflight's checks", () => {
    it("passes a healthy cluster, every check", () => {
        const topology = exampleTopology();
        const checks = checkCluster(planTopology(parseTopology(topology), plannerFiles()), "ohio", healthy(topology, "ohio"));
        assert.deepStrictEqual(
            checks.map((c) => [c.check, c.ok]),
            [
                ["Kubernetes version", true],
                ["nodes", true],
                ["architecture", true],
                ["Multus", true],
                ["Prometheus operator", true],
                ["rights", true],
                ["node systems", true],
                ["tun device", true],
                ["cluster networks", true],
                ["node forwarding", true],
                ["privileged SCC", true],
                ["VPC CNI SNAT", true],
            ],
        );
    });

    it("refuses native sidecars on an API server older than 1.29, which drops them silently", () => {
        const [problem] = problemsAt("ohio", (f) => (f.serverVersion = "v1.28.9+rhcos"));
        assert.strictEqual(problem.field, `${T}.sites.ohio.sidecar`);
        assert.match(problem.message, /runs Kubernetes v1\.28\.9\+rhcos, whose API server drops native sidecars silently/);
        assert.match(problem.fix, /set sites\.ohio\.sidecar to legacy/);
        assert.deepStrictEqual(
            problemsAt(
                "ohio",
                (f) => (f.serverVersion = "v1.28.9"),
                (t) => (t.sites.ohio.sidecar = "legacy"),
            ),
            [],
        );
    });

    it("names a node of the topology that the cluster does not have", () => {
        const problems = problemsAt(
            "ohio",
            (f) => (f.nodes = f.nodes.slice(0, 1)),
            (t) => (t.sites.ohio.aws.routing = "none"),
        );
        assert.deepStrictEqual(
            problems.map((p) => p.field),
            [`${T}.sites.ohio.nodes[1].name`],
        );
        assert.match(problems[0].message, /site ohio's cluster has no node of this name \(it has ip-10-0-154-10/);
    });

    it("refuses binaries for another machine than the nodes'", () => {
        const [problem] = problemsAt("ohio", (f) => (f.nodes[1].arch = "arm64"));
        assert.strictEqual(problem.field, `${T}.binaries.architecture`);
        assert.match(problem.message, /node ip-10-0-171-33\.us-east-2\.compute\.internal is arm64/);
    });

    const leftToCluster = (t: any) => (t.sites.ohio.nodeNetwork = "cluster");

    it("finds OpenShift nodes that forward only the cluster's own traffic, unless the node agent forwards or the attachment needs none", () => {
        const restricted = problemsAt("ohio", (f) => (f.networkOperator = { networkType: "OVNKubernetes" }), leftToCluster);
        assert.strictEqual(restricted.length, 1);
        assert.strictEqual(restricted[0].field, `${T}.sites.ohio`);
        assert.strictEqual(restricted[0].value, "network.operator.openshift.io/cluster: ipForwarding Restricted (the default)");
        assert.match(
            restricted[0].fix,
            /^set sites\.ohio\.nodeNetwork to agent .*oc patch network\.operator\.openshift\.io cluster --type=merge -p .*"ipForwarding":"Global"/,
        );
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.networkOperator = { networkType: "OVNKubernetes", ipForwarding: "Global" }), leftToCluster),
            [],
        );
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.networkOperator = { networkType: "OVNKubernetes" })),
            [],
            "the node agent forwards",
        );
        assert.deepStrictEqual(
            problemsAt(
                "ohio",
                (f) => (f.networkOperator = { networkType: "OVNKubernetes", ipForwarding: "Restricted" }),
                (t) => {
                    leftToCluster(t);
                    t.sites.ohio.platform = "kubernetes";
                },
            ),
            [],
        );
    });

    it("finds a deployer that may not grant the privileged SCC", () => {
        const [problem] = problemsAt("ohio", (f) => (f.canUsePrivilegedScc = false));
        assert.strictEqual(problem.field, `${T}.sites.ohio.platform`);
        assert.match(problem.message, /may not use the privileged SCC/);
    });

    it("finds the VPC CNI rewriting the source of traffic to the peers, and says what to exclude", () => {
        const [problem] = problemsAt("ohio", (f) => (f.vpcCni = { excludeSnatCidrs: "10.99.0.0/16" }), leftToCluster);
        assert.strictEqual(problem.field, `${T}.sites.ohio`);
        assert.match(problem.message, /rewrites the source of traffic to 10\.20\.0\.0\/16/);
        assert.match(
            problem.fix,
            /kubectl -n kube-system set env daemonset aws-node AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=10\.99\.0\.0\/16,10\.20\.0\.0\/16$/,
        );
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.vpcCni = { excludeSnatCidrs: "10.99.0.0/16, 10.16.0.0/12" }), leftToCluster),
            [],
        );
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.vpcCni = { excludeSnatCidrs: "10.99.0.0/16" })),
            [],
            "the node agent keeps it un-NATed",
        );
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.vpcCni = { externalSnat: "true" })),
            [],
        );
    });
});

describe("the preflight's checks of what the stack needs of a cluster", () => {
    it("needs Multus, naming the fix", () => {
        const [problem] = problemsAt("ohio", (f) => (f.multus = false));
        assert.strictEqual(problem.field, `${T}.sites.ohio.attachment`);
        assert.match(problem.message, /serves no NetworkAttachmentDefinitions \(k8s\.cni\.cncf\.io\/v1\): Multus is not installed/);
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.multus = undefined)),
            [],
            "not asked: not checked",
        );
    });

    it("says where the cluster serves no PodMonitors and PrometheusRules, and fails only a site that requires them", () => {
        const missing = (f: any) => (f.monitoring = false);
        assert.deepStrictEqual(problemsAt("ohio", missing), [], "auto: the stack creates neither, and says so");
        const topology = exampleTopology();
        const check = checkCluster(planTopology(parseTopology(topology), plannerFiles()), "ohio", {
            ...healthy(topology, "ohio"),
            monitoring: false,
        }).find((c) => c.check === "Prometheus operator")!;
        assert.match(check.found, /the stack creates neither; the endpoints still serve their metrics/);
        const [problem] = problemsAt("ohio", missing, (t) => (t.sites.ohio.monitoring = { prometheus: "required" }));
        assert.strictEqual(problem.field, `${T}.sites.ohio.monitoring.prometheus`);
        assert.strictEqual(problem.value, "required");
        assert.match(problem.fix, /enable user-workload monitoring/);
    });

    it("names every right the deployer lacks", () => {
        const problems = problemsAt("ohio", (f) => {
            f.rights = [
                { verb: "create", group: "apps", resource: "daemonsets", namespace: "plumr", allowed: false },
                { verb: "create", group: "", resource: "namespaces", allowed: false },
                { verb: "create", group: "", resource: "secrets", namespace: "plumr", allowed: true },
            ];
        });
        assert.deepStrictEqual(
            problems.map((p) => [p.field, p.message]),
            [
                ["plumr:access.ohio.kubeconfig", "the identity that deploys site ohio may not create namespaces, which the stack creates"],
                [
                    "plumr:access.ohio.kubeconfig",
                    "the identity that deploys site ohio may not create DaemonSets in namespace plumr, which the stack creates",
                ],
            ],
        );
        assert.match(problems[1].fix, /grant it create on daemonsets\.apps in namespace plumr/);
    });

    it("asks whether the deployer may create the endpoints' SCC and use it (to grant it) on OpenShift, and names what it may not", () => {
        const scc = "plumr-endpoint-plumr";
        const rights = (t: any) => rightsNeeded(parseTopology(t).sites.ohio);
        const openshift = rights(exampleTopology());
        assert.deepStrictEqual(
            openshift.filter((r) => r.resource === "securitycontextconstraints").map((r) => [r.verb, r.name, r.namespace]),
            [
                ["create", undefined, undefined],
                ["use", scc, undefined],
            ],
        );
        const review: any = accessReviews(openshift);
        const useScc = review.items.find((item: any) => item.spec.resourceAttributes.verb === "use");
        assert.deepStrictEqual(useScc.spec.resourceAttributes, {
            verb: "use",
            group: "security.openshift.io",
            resource: "securitycontextconstraints",
            name: scc,
        });
        const problems = problemsAt("ohio", (f) => {
            f.rights = [
                { verb: "create", group: "security.openshift.io", resource: "securitycontextconstraints", allowed: false },
                { verb: "use", group: "security.openshift.io", resource: "securitycontextconstraints", allowed: false },
            ];
        });
        assert.deepStrictEqual(
            problems.map((p) => p.message),
            [
                "the identity that deploys site ohio may not create SecurityContextConstraints, which the stack creates",
                `the identity that deploys site ohio may not use the SCC ${scc}, to grant it to the endpoints, which the stack creates`,
            ],
        );
        assert.match(problems[1].fix, new RegExp(`grant it use on securitycontextconstraints\\.security\\.openshift\\.io/${scc}`));
        // Neither asked where there is no SCC of the endpoints: on plain Kubernetes, or with plumr privileged.
        for (const edit of [(t: any) => (t.sites.ohio.platform = "kubernetes"), (t: any) => (t.sites.ohio.tunDevice = "privileged")]) {
            const t = exampleTopology();
            edit(t);
            assert.deepStrictEqual(
                rights(t).filter((r) => r.resource === "securitycontextconstraints"),
                [],
            );
        }
    });

    it("refuses tunDevice: crioAnnotation on nodes that do not run CRI-O, naming them", () => {
        const crio = (t: any) => (t.sites.ohio.tunDevice = "crioAnnotation");
        const onRuntime = (runtime: string) => (f: ClusterFacts) => (f.nodes = f.nodes.map((n) => ({ ...n, runtime })));
        const [problem, ...more] = problemsAt("ohio", onRuntime("containerd://2.4.2"), crio);
        assert.deepStrictEqual(more, []);
        assert.strictEqual(problem.field, `${T}.sites.ohio.tunDevice`);
        assert.strictEqual(problem.value, "crioAnnotation");
        assert.match(problem.message, /\(containerd:\/\/2\.4\.2\) do not run CRI-O/);
        assert.match(problem.fix, /set sites\.ohio\.tunDevice to hostPath/);
        assert.deepStrictEqual(problemsAt("ohio", onRuntime("cri-o://1.31.6"), crio), []);
        assert.deepStrictEqual(problemsAt("ohio", onRuntime("containerd://2.4.2")), [], "hostPath needs no CRI-O");
    });

    it("reads each node's container runtime", () => {
        const node = parseNode({ metadata: { name: "n" }, status: { nodeInfo: { containerRuntimeVersion: "cri-o://1.31.6" } } });
        assert.strictEqual(node.runtime, "cri-o://1.31.6");
    });

    it("refuses nodes whose system the node agent cannot run on", () => {
        const problems = problemsAt(
            "ohio",
            (f) => (f.nodes[0] = { ...f.nodes[0], os: "linux", osImage: "Bottlerocket OS 1.20.0 (aws-k8s-1.29)" }),
        );
        assert.deepStrictEqual(
            problems.map((p) => p.field),
            [`${T}.sites.ohio.nodes[0].name`],
        );
        assert.match(problems[0].message, /runs Bottlerocket OS 1\.20\.0 \(aws-k8s-1\.29\), which has no \/bin\/sh/);
        assert.deepStrictEqual(
            problemsAt("ohio", (f) => (f.nodes[0] = { ...f.nodes[0], os: "linux", osImage: "Red Hat Enterprise Linux CoreOS 416.94" })),
            [],
        );
    });

    it("keeps the bridge range and the tunnel pool clear of the cluster's own networks", () => {
        const overlap = (change: (f: ClusterFacts) => void, edit?: (t: any) => void) =>
            problemsAt("ohio", change, edit).map((p) => [p.field, p.message.replace(/: traffic.*/, "")]);
        assert.deepStrictEqual(
            overlap((f) => (f.networks = { cluster: ["10.8.0.0/14"], service: ["172.30.0.0/16"] })),
            [
                [
                    `${T}.sites.ohio.bridgeRange`,
                    "overlaps 10.8.0.0/14, the cluster network (pods), which the nodes route into the cluster of site ohio's cluster",
                ],
            ],
        );
        assert.deepStrictEqual(
            overlap(
                (f) => (f.networkOperator = { networkType: "OVNKubernetes" }),
                (t) => (t.tunnel.pool = "100.64.0.0/24"),
            ),
            [[`${T}.tunnel.pool`, "overlaps 100.64.0.0/16, OVN-Kubernetes's join subnet, used on every node of site ohio's cluster"]],
        );
        assert.deepStrictEqual(
            overlap((f) => (f.kubernetesServiceIp = "10.10.0.1")),
            [
                [
                    `${T}.sites.ohio.bridgeRange`,
                    "overlaps 10.10.0.1/32, the kubernetes Service's address (the service network) of site ohio's cluster",
                ],
            ],
        );
        assert.deepStrictEqual(
            overlap(
                () => {},
                (t) => (t.sites.ohio.clusterNetworks = ["10.10.128.0/17"]),
            ),
            [
                [
                    `${T}.sites.ohio.bridgeRange`,
                    "overlaps 10.10.128.0/17, one of the cluster's networks (clusterNetworks) of site ohio's cluster",
                ],
            ],
        );
        assert.deepStrictEqual(
            overlap((f) => (f.networks = { cluster: ["10.128.0.0/14"], service: ["172.30.0.0/16"] })),
            [],
        );
    });
});

describe("the cluster reader", () => {
    const ok = (body: unknown) => ({ status: 200, body });
    const allowedReview = (allowed: boolean) => ({ status: 201, body: { kind: "SelfSubjectAccessReview", status: { allowed } } });
    const SSAR = "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    const NO_QUESTIONS: ClusterQuestions = { openshift: false, aws: false, rights: [] };

    /**
     * Reads a cluster through a kubectl that serves its proxy like a cluster would (test/support/fakeKubectl.js),
     * recording its arguments, the kubeconfig it was given, and the requests.
     */
    async function read(
        kubeconfig: string,
        questions: ClusterQuestions,
        config: { answers?: Record<string, { status: number; body: unknown }>; fail?: string; hold?: Record<string, string> },
        context?: string,
    ) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-kubectl-"));
        const saved = { path: process.env.PATH, fake: process.env.PLUMR_FAKE_KUBECTL };
        try {
            fs.copyFileSync(path.join(__dirname, "..", "support", "fakeKubectl.js"), path.join(dir, "kubectl"));
            fs.chmodSync(path.join(dir, "kubectl"), 0o755);
            fs.writeFileSync(path.join(dir, "answers.json"), JSON.stringify({ answers: {}, ...config }));
            process.env.PATH = `${dir}:${process.env.PATH}`;
            process.env.PLUMR_FAKE_KUBECTL = dir;
            const result = await readCluster({ kubeconfig, context }, questions).then(
                (text) => ({ text, error: undefined }),
                (err: Error) => ({ text: undefined, error: err.message }),
            );
            const file = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), "utf8") : "");
            return {
                ...result,
                args: JSON.parse(file("args")) as string[],
                kubeconfig: file("kubeconfig"),
                kubeconfigPath: file("kubeconfig-path"),
                mode: file("mode"),
                requests: file("requests").trim().split("\n").filter(Boolean),
            };
        } finally {
            process.env.PATH = saved.path;
            if (saved.fake === undefined) delete process.env.PLUMR_FAKE_KUBECTL;
            else process.env.PLUMR_FAKE_KUBECTL = saved.fake;
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    const NODE = {
        metadata: { name: "node-a", labels: { "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": "us-east-2a" } },
        spec: { providerID: "aws:///us-east-2a/i-0a1" },
        status: { conditions: [{ type: "Ready", status: "True" }] },
    };
    const PLAIN = {
        "GET /version": ok({ major: "1", minor: "34", gitVersion: "v1.34.2" }),
        "GET /api/v1/nodes": ok({ kind: "NodeList", items: [NODE] }),
        "GET /apis/k8s.cni.cncf.io/v1": ok({ kind: "APIResourceList", groupVersion: "k8s.cni.cncf.io/v1" }),
        "GET /apis/monitoring.coreos.com/v1": ok({
            kind: "APIResourceList",
            groupVersion: "monitoring.coreos.com/v1",
            resources: [{ name: "podmonitors" }, { name: "prometheusrules" }, { name: "servicemonitors" }],
        }),
    };

    it("reads a plain cluster through one kubectl, with a private kubeconfig that is gone afterwards, or the user's file, and the context", async () => {
        const plain = await read("apiVersion: v1\nkind: Config\n", NO_QUESTIONS, { answers: PLAIN });
        assert.strictEqual(plain.error, undefined);
        assert.strictEqual(plain.kubeconfig, "apiVersion: v1\nkind: Config\n");
        assert.strictEqual(plain.mode, "600", "only the user reads it");
        assert.ok(!fs.existsSync(plain.kubeconfigPath), "the kubeconfig is removed");
        assert.deepStrictEqual(plain.args.slice(2), ["proxy", plain.args[3]]);
        assert.match(plain.args[3], /^--unix-socket=/);
        assert.deepStrictEqual(
            [...plain.requests].sort(),
            [
                "GET /api/v1/namespaces/default/services/kubernetes",
                "GET /api/v1/nodes",
                "GET /apis/k8s.cni.cncf.io/v1",
                "GET /apis/monitoring.coreos.com/v1",
                "GET /version",
            ],
            "a plain cluster is asked five questions, each a plain GET",
        );
        assert.deepStrictEqual(parseClusterFacts(plain.text!), {
            serverVersion: "v1.34.2",
            nodes: [
                {
                    name: "node-a",
                    providerId: "aws:///us-east-2a/i-0a1",
                    arch: "amd64",
                    labels: NODE.metadata.labels,
                    ready: true,
                    unschedulable: false,
                },
            ],
            networkOperator: null,
            vpcCni: null,
            multus: true,
            monitoring: true,
        });
        const withContext = await read("x", NO_QUESTIONS, { answers: PLAIN }, "ohio admin");
        assert.deepStrictEqual(withContext.args.slice(0, 4), ["--kubeconfig", withContext.kubeconfigPath, "--context", "ohio admin"]);
        const file = path.join(os.tmpdir(), `plumr-kubeconfig-${process.pid}`);
        try {
            fs.writeFileSync(file, "from a file");
            const fromFile = await read(file, NO_QUESTIONS, { answers: PLAIN });
            assert.deepStrictEqual([fromFile.kubeconfigPath, fromFile.kubeconfig], [file, "from a file"]);
            assert.ok(fs.existsSync(file), "a kubeconfig file of the user's stays");
        } finally {
            fs.rmSync(file, { force: true });
        }
    });

    it("reads OpenShift's forwarding, the VPC CNI's SNAT settings and the SCC grant where the site needs them", async () => {
        const operator = {
            spec: { defaultNetwork: { type: "OVNKubernetes", ovnKubernetesConfig: { gatewayConfig: { ipForwarding: "Restricted" } } } },
        };
        const env = [
            { name: "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", value: "10.20.0.0/16" },
            { name: "AWS_VPC_K8S_CNI_EXTERNALSNAT", value: "false" },
        ];
        const answers = {
            ...PLAIN,
            "GET /apis/operator.openshift.io/v1/networks/cluster": ok(operator),
            "GET /apis/apps/v1/namespaces/kube-system/daemonsets/aws-node": ok({
                spec: { template: { spec: { containers: [{ name: "aws-node", env }] } } },
            }),
            [SSAR]: allowedReview(false),
        };
        const result = await read("x", { openshift: true, aws: true, rights: [] }, { answers });
        assert.strictEqual(result.error, undefined);
        const facts = parseClusterFacts(result.text!);
        assert.deepStrictEqual(facts.networkOperator, { networkType: "OVNKubernetes", ipForwarding: "Restricted" });
        assert.deepStrictEqual(facts.vpcCni, { externalSnat: "false", excludeSnatCidrs: "10.20.0.0/16" });
        assert.strictEqual(facts.canUsePrivilegedScc, false);
        const review = result.requests.find((r) => r.startsWith(SSAR))!;
        assert.deepStrictEqual(JSON.parse(review.slice(SSAR.length + 1)).spec.resourceAttributes, {
            verb: "use",
            group: "security.openshift.io",
            resource: "securitycontextconstraints",
            name: "privileged",
        });
        assert.deepStrictEqual(parseClusterFacts(preflightOutput(facts)), facts, "the tests' fake clusters give what the reader gives");
        const plain = await read("x", NO_QUESTIONS, { answers });
        assert.deepStrictEqual(
            [parseClusterFacts(plain.text!).networkOperator, parseClusterFacts(plain.text!).vpcCni, plain.requests.length],
            [null, null, 5],
            "neither asked of a site that is not on OpenShift or AWS",
        );
    });

    it("asks the deployer's rights, one review each, and reads the API server's answers", async () => {
        const right = { verb: "create", group: "apps", resource: "daemonsets", namespace: "plumr" };
        const result = await read(
            "x",
            { ...NO_QUESTIONS, rights: [{ ...right, what: "create the node agent's DaemonSet" }] },
            { answers: { ...PLAIN, [SSAR]: allowedReview(false) } },
        );
        assert.strictEqual(result.error, undefined);
        const reviews = result.requests.filter((r) => r.startsWith(SSAR));
        assert.deepStrictEqual(
            reviews.map((r) => JSON.parse(r.slice(SSAR.length + 1)).spec.resourceAttributes),
            [right],
        );
        assert.deepStrictEqual(parseClusterFacts(result.text!).rights, [{ ...right, allowed: false }]);
    });

    it("asks its questions at once: a cluster far away costs one round trip, not one per question", async () => {
        // The version's answer waits for the nodes' question: asked one after the other, it would time out.
        const result = await read("x", NO_QUESTIONS, { answers: PLAIN, hold: { "GET /version": "GET /api/v1/nodes" } });
        assert.strictEqual(result.error, undefined);
        assert.strictEqual(parseClusterFacts(result.text!).serverVersion, "v1.34.2");
    });

    it("fails with kubectl's or the API server's words when the cluster cannot be read, and still removes the kubeconfig", async () => {
        const unstarted = await read("x", NO_QUESTIONS, { fail: "error: context was not found for specified context: nope" });
        assert.match(unstarted.error ?? "", /context was not found/);
        assert.ok(!fs.existsSync(unstarted.kubeconfigPath));
        const refused = await read("x", NO_QUESTIONS, {
            answers: {
                ...PLAIN,
                "GET /api/v1/nodes": { status: 401, body: { kind: "Status", reason: "Unauthorized", message: "Unauthorized" } },
            },
        });
        assert.match(refused.error ?? "", /GET \/api\/v1\/nodes.*401.*Unauthorized/);
        assert.ok(!fs.existsSync(refused.kubeconfigPath));
        const unreachable = await read("x", NO_QUESTIONS, {
            answers: { ...PLAIN, "GET /version": { status: 500, body: "dial tcp 127.0.0.1:1: connect: connection refused" } },
        });
        assert.match(unreachable.error ?? "", /GET \/version: dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    });
});

describe("the preflight in the program", () => {
    it("fails the run with every problem of the site's cluster", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.aws.routing = "none";
        topology.sites.ohio.nodeNetwork = "cluster";
        await assert.rejects(
            runProgram({
                stack: "ohio",
                topology,
                clusterFacts: { ohio: { serverVersion: "v1.27.3", networkOperator: { networkType: "OVNKubernetes" } } },
            }),
            (err: unknown) => {
                assert.ok(err instanceof ConfigError, String(err));
                assert.deepStrictEqual(
                    err.problems.map((p) => p.field),
                    [`${T}.sites.ohio.sidecar`, `${T}.sites.ohio`],
                );
                return true;
            },
        );
    });
});
