// The preflight: what the program reads from each site's cluster before any change, and how it
// holds it against the plan. The script runs for real against a kubectl that answers like a cluster.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../planner/problems/errors";
import { planTopology } from "../../planner/plan";
import { ClusterFacts, parseClusterFacts } from "../../planner/cluster/facts";
import { checkCluster } from "../../planner/cluster/preflight";
import { PREFLIGHT_SCRIPT } from "../../program/clusterReader";
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

describe("the preflight script", () => {
    /** Runs the preflight script with a kubectl that answers like a cluster (or fails), recording its calls and kubeconfig. */
    function run(kubeconfig: string, env: Record<string, string>, answers: Record<string, string>, fail = false) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-kubectl-"));
        try {
            const kubectl = path.join(dir, "kubectl");
            const cases = Object.entries(answers)
                .map(([pattern, output]) => `    *"${pattern}"*) printf '%s\\n' '${output}' ;;`)
                .join("\n");
            fs.writeFileSync(
                kubectl,
                [
                    "#!/bin/sh",
                    `printf '%s\\n' "$*" >> ${dir}/calls`,
                    `cat "$2" > ${dir}/kubeconfig; echo "$2" > ${dir}/path; stat -c %a "$2" > ${dir}/mode`,
                    fail ? "echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1" : "",
                    'case "$*" in',
                    cases,
                    "    *) echo 'error: the server doesn'\\''t have a resource type' >&2; exit 1 ;;",
                    "esac",
                ].join("\n"),
                { mode: 0o755 },
            );
            const result = spawnSync("/bin/sh", [PREFLIGHT_SCRIPT], {
                input: kubeconfig,
                env: { ...process.env, ...env, PATH: `${dir}:${process.env.PATH}` },
                encoding: "utf8",
            });
            const read = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
            return {
                ...result,
                calls: read("calls").trim().split("\n"),
                kubeconfig: read("kubeconfig"),
                path: read("path").trim(),
                mode: read("mode").trim(),
            };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    const NODE = {
        metadata: { name: "node-a", labels: { "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": "us-east-2a" } },
        spec: { providerID: "aws:///us-east-2a/i-0a1" },
        status: { conditions: [{ type: "Ready", status: "True" }] },
    };
    const PLAIN = {
        "get --raw /version": '{"major":"1","minor":"34","gitVersion":"v1.34.2"}',
        "get --raw /api/v1/nodes": JSON.stringify({ kind: "NodeList", items: [NODE] }),
        "get --raw /apis/k8s.cni.cncf.io/v1": '{"kind":"APIResourceList","groupVersion":"k8s.cni.cncf.io/v1"}',
        "get --raw /apis/monitoring.coreos.com/v1": JSON.stringify({
            kind: "APIResourceList",
            groupVersion: "monitoring.coreos.com/v1",
            resources: [{ name: "podmonitors" }, { name: "prometheusrules" }, { name: "servicemonitors" }],
        }),
    };

    it("reads a plain cluster through a private kubeconfig that is gone afterwards, or the user's file, and the context", () => {
        const plain = run("apiVersion: v1\nkind: Config\n", {}, PLAIN);
        assert.strictEqual(plain.status, 0, plain.stderr);
        assert.strictEqual(plain.kubeconfig, "apiVersion: v1\nkind: Config\n");
        assert.strictEqual(plain.mode, "600", "only the user reads it");
        assert.ok(!fs.existsSync(plain.path), "the kubeconfig is removed");
        assert.ok(plain.calls.every((c) => c.includes("--request-timeout=60s")));
        assert.deepStrictEqual(
            plain.calls.map((c) => c.split(" --request-timeout=60s ")[1]).sort(),
            [
                "get --raw /api/v1/namespaces/default/services/kubernetes",
                "get --raw /api/v1/nodes",
                "get --raw /apis/k8s.cni.cncf.io/v1",
                "get --raw /apis/monitoring.coreos.com/v1",
                "get --raw /version",
            ],
            "a plain cluster is asked five questions, each a plain GET",
        );
        assert.deepStrictEqual(parseClusterFacts(plain.stdout), {
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
        const withContext = run("x", { PLUMR_CONTEXT: "ohio admin" }, PLAIN);
        assert.ok(withContext.calls.every((c) => c.includes("--context ohio admin")));
        const file = path.join(os.tmpdir(), `plumr-kubeconfig-${process.pid}`);
        try {
            fs.writeFileSync(file, "from a file");
            const fromFile = run("", { PLUMR_KUBECONFIG_FILE: file }, PLAIN);
            assert.deepStrictEqual([fromFile.path, fromFile.kubeconfig], [file, "from a file"]);
            assert.ok(fs.existsSync(file), "a kubeconfig file of the user's stays");
        } finally {
            fs.rmSync(file, { force: true });
        }
    });

    it("reads OpenShift's forwarding, the VPC CNI's SNAT settings and the SCC grant where the site needs them", () => {
        const operator = {
            spec: { defaultNetwork: { type: "OVNKubernetes", ovnKubernetesConfig: { gatewayConfig: { ipForwarding: "Restricted" } } } },
        };
        const env = [
            { name: "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", value: "10.20.0.0/16" },
            { name: "AWS_VPC_K8S_CNI_EXTERNALSNAT", value: "false" },
        ];
        const answers = {
            ...PLAIN,
            "get --raw /apis/operator.openshift.io/v1/networks/cluster": JSON.stringify(operator),
            "get --raw /apis/apps/v1/namespaces/kube-system/daemonsets/aws-node": JSON.stringify({
                spec: { template: { spec: { containers: [{ name: "aws-node", env }] } } },
            }),
            "auth can-i use securitycontextconstraints.security.openshift.io/privileged": "no",
        };
        const result = run("x", { PLUMR_OPENSHIFT: "true", PLUMR_AWS: "true" }, answers);
        assert.strictEqual(result.status, 0, result.stderr);
        const facts = parseClusterFacts(result.stdout);
        assert.deepStrictEqual(facts.networkOperator, { networkType: "OVNKubernetes", ipForwarding: "Restricted" });
        assert.deepStrictEqual(facts.vpcCni, { externalSnat: "false", excludeSnatCidrs: "10.20.0.0/16" });
        assert.strictEqual(facts.canUsePrivilegedScc, false);
        assert.deepStrictEqual(parseClusterFacts(preflightOutput(facts)), facts, "the tests' fake clusters print what the script prints");
        const plain = run("x", {}, answers);
        assert.deepStrictEqual(
            [parseClusterFacts(plain.stdout).networkOperator, parseClusterFacts(plain.stdout).vpcCni, plain.calls.length],
            [null, null, 5],
            "neither asked of a site that is not on OpenShift or AWS",
        );
    });

    it("asks the deployer's rights in one kubectl, and reads the API server's answers", () => {
        const review = { verb: "create", group: "apps", resource: "daemonsets", namespace: "plumr" };
        const result = run(
            "x",
            { PLUMR_ACCESS_REVIEWS: '{"kind":"List","items":[]}' },
            { ...PLAIN, "create -f": "create\tapps\tdaemonsets\tplumr\tfalse" },
        );
        assert.strictEqual(result.status, 0, result.stderr);
        assert.strictEqual(result.calls.filter((c) => c.includes("create -f")).length, 1, "one kubectl for every review");
        assert.deepStrictEqual(parseClusterFacts(result.stdout).rights, [{ ...review, allowed: false }]);
    });

    it("asks its questions at once: a cluster far away costs one round trip, not one per question", () => {
        // The version call answers only once the nodes call has started: asked one after the other, it would give up.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-kubectl-"));
        try {
            fs.writeFileSync(
                path.join(dir, "kubectl"),
                [
                    "#!/bin/sh",
                    'case "$*" in',
                    `    *"/api/v1/nodes"*) touch ${dir}/nodes-started; echo '{"items":[]}' ;;`,
                    `    *"/version"*) i=0; while [ ! -e ${dir}/nodes-started ]; do i=$((i+1)); [ $i -lt 100 ] || { echo 'asked in turn' >&2; exit 1; }; sleep 0.1; done; echo '{"gitVersion":"v1.34.2"}' ;;`,
                    "    *) exit 1 ;;",
                    "esac",
                ].join("\n"),
                { mode: 0o755 },
            );
            const result = spawnSync("/bin/sh", [PREFLIGHT_SCRIPT], {
                input: "x",
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
                encoding: "utf8",
            });
            assert.strictEqual(result.status, 0, result.stderr);
            assert.strictEqual(parseClusterFacts(result.stdout).serverVersion, "v1.34.2");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("fails with kubectl's error when the cluster does not answer, and still removes the kubeconfig", () => {
        const failed = run("x", {}, PLAIN, true);
        assert.notStrictEqual(failed.status, 0);
        assert.match(failed.stderr, /Unauthorized/);
        assert.ok(!fs.existsSync(failed.path));
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
