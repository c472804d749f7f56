// The whole program under Pulumi's mocks: the resource graph, providers, cross-references,
// security contexts and bad configuration.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { CONTRACT_VERSION, publishedSiteSchema, readPeerSite } from "../../planner/published";
import { exampleTopology, find, KUBERNETES_PROVIDER, Registered, runProgram, standInBinary } from "../support/harness";
import { readProjectFile, SHIPPED_PROJECT } from "../../lib/topologyFile";
import { rejection } from "../support/problems";

const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";
const MUMBAI_NODE = "ip-10-1-241-95.ap-south-1.compute.internal";

const kubernetesResources = (resources: Registered[]) => resources.filter((r) => r.type.startsWith("kubernetes:"));
const secretConfig = (resources: Registered[], site: string) =>
    find(resources, "kubernetes:core/v1:Secret", `${site}-ohio-mumbai-config`).inputs.stringData["config.json"];
const deployment = (resources: Registered[], site: string) => find(resources, "kubernetes:apps/v1:Deployment", `${site}-ohio-mumbai`);
const podSpec = (resources: Registered[], site: string) => deployment(resources, site).inputs.spec.template.spec;
const agentPodSpec = (resources: Registered[], site: string) =>
    find(resources, "kubernetes:apps/v1:DaemonSet", `${site}-node-agent`).inputs.spec.template.spec;

/** The program's version, as package.json says it. */
const PROGRAM_VERSION: string = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")).version;

/**
 * A peer stack's outputs with its end of ohio-mumbai, as this program publishes them: in this
 * contract, unless `versions` says otherwise (an undefined version is left out, as a program from
 * before contract versions left it).
 */
function published(
    site: string,
    end: Record<string, unknown>,
    versions: { contractVersion?: unknown; programVersion?: unknown } = {
        contractVersion: CONTRACT_VERSION,
        programVersion: PROGRAM_VERSION,
    },
) {
    const facts = {
        site,
        node: site === "ohio" ? OHIO_NODE : MUMBAI_NODE,
        range: site === "ohio" ? "10.10.0.0/16" : "10.20.0.0/16",
        ...end,
    };
    const stated = Object.fromEntries(Object.entries(versions).filter(([, v]) => v !== undefined));
    return { sites: { [site]: { ...stated, endpoints: { "ohio-mumbai": facts } } } };
}

/** What `run` warned of, and what it gave. */
async function warnings<T>(run: () => Promise<T>): Promise<{ warned: string[]; result: T }> {
    const log = pulumi.log as { warn: (msg: string) => void };
    const { warn } = log;
    const warned: string[] = [];
    log.warn = (msg) => void warned.push(msg);
    try {
        return { warned, result: await run() };
    } finally {
        log.warn = warn;
    }
}

describe("a stack that manages Ohio only", () => {
    it("deploys every Kubernetes resource through Ohio's own provider", async () => {
        const { resources } = await runProgram({ stack: "ohio" });
        const providers = resources.filter((r) => r.type === KUBERNETES_PROVIDER);
        assert.deepStrictEqual(
            providers.map((p) => p.name),
            ["ohio-cluster"],
        );
        assert.strictEqual(providers[0].inputs.kubeconfig, "kubeconfig-of-ohio");
        assert.strictEqual(providers[0].inputs.enableSecretMutable, "true", "a new config updates the Secret in place");
        const k8s = kubernetesResources(resources);
        assert.ok(k8s.length > 10);
        for (const r of k8s) assert.strictEqual(r.provider, "ohio-cluster", `${r.type} ${r.name}`);
        assert.ok(!resources.some((r) => r.name.startsWith("mumbai-")), "nothing of Mumbai's is deployed");
    });

    it("renders Ohio's config from Mumbai's published facts", async () => {
        const { resources } = await runProgram({
            stack: "ohio",
            stackOutputs: { "organization/plumr/mumbai": published("mumbai", { address: "10.20.1.77", tunnelIp: "10.4.0.2", port: 5001 }) },
        });
        const ref = find(resources, "pulumi:pulumi:StackReference", "peer-mumbai");
        assert.strictEqual(ref.inputs.name, "organization/plumr/mumbai");
        const config = JSON.parse(secretConfig(resources, "ohio"));
        assert.strictEqual(config.udp.remote_address, "10.20.1.77");
        assert.strictEqual(config.udp.remote_port, 5001);
        assert.strictEqual(config.udp.local_address, "10.10.1.200");
        assert.strictEqual(config.tun.address, "10.4.0.1");
    });

    it("bootstraps from the topology while Mumbai's stack publishes nothing yet", async () => {
        const { resources } = await runProgram({ stack: "ohio" });
        const config = JSON.parse(secretConfig(resources, "ohio"));
        assert.deepStrictEqual(config.udp, {
            local_address: "10.10.1.200",
            local_port: 5000,
            remote_address: "10.20.1.200",
            remote_port: 5000,
        });
        assert.deepStrictEqual(config.tun, { name: "tun", address: "10.4.0.1", prefix_length: 30, mtu: 1452 });
    });

    it("reads the peer from the stack plumr:peerStacks names", async () => {
        const { resources } = await runProgram({
            stack: "ohio",
            peerStacks: { mumbai: "acme/links/mumbai-prod" },
            stackOutputs: { "acme/links/mumbai-prod": published("mumbai", { address: "10.20.1.9", tunnelIp: "10.4.0.2", port: 5000 }) },
        });
        assert.strictEqual(find(resources, "pulumi:pulumi:StackReference", "peer-mumbai").inputs.name, "acme/links/mumbai-prod");
        assert.strictEqual(JSON.parse(secretConfig(resources, "ohio")).udp.remote_address, "10.20.1.9");
    });

    it("exports what a peer stack and a person need", async () => {
        const { sites, links } = await runProgram({ stack: "ohio" });
        assert.deepStrictEqual(Object.keys(sites), ["ohio"]);
        assert.deepStrictEqual(sites.ohio.endpoints["ohio-mumbai"], {
            site: "ohio",
            node: OHIO_NODE,
            address: "10.10.1.200",
            tunnelIp: "10.4.0.1",
            port: 5000,
            range: "10.10.0.0/16",
        });
        assert.strictEqual(sites.ohio.nodeAgent.daemonSet, "plumr-node-agent");
        assert.strictEqual(links["ohio-mumbai"].tunnelSubnet, "10.4.0.0/30");
        assert.deepStrictEqual(
            links["ohio-mumbai"].ends.map((e: any) => [e.site, e.deployedBy]),
            [
                ["ohio", "ohio"],
                ["mumbai", "organization/plumr/mumbai"],
            ],
        );
    });
});

describe("what a stack reads of its peers' stacks", () => {
    const ohioEnd = { address: "10.10.1.200", tunnelIp: "10.4.0.1", port: 5000 };

    it("refuses a peer's published end that is not the contract, naming the stack, the output's field and the fix", async () => {
        const outputs = published("ohio", { ...ohioEnd, port: "5000" });
        const err = await rejection(runProgram({ stack: "mumbai", stackOutputs: { "organization/plumr/ohio": outputs } }));
        assert.deepStrictEqual(
            err.problems.map((p) => [p.field, p.value]),
            [["stack organization/plumr/ohio: output sites.ohio.endpoints.ohio-mumbai.port", "5000"]],
        );
        assert.match(err.problems[0].fix, /^run pulumi up on stack organization\/plumr\/ohio with this version of the program/);
    });

    it("reads a peer deployed by an earlier version, which published other fields besides its ends", async () => {
        const outputs = published("ohio", { ...ohioEnd, address: "10.10.1.201" });
        Object.assign(outputs.sites.ohio, {
            namespace: "plumr",
            installer: { daemonSet: "plumr-installer", binariesSha256: "0".repeat(64) },
        });
        const { resources } = await runProgram({ stack: "mumbai", stackOutputs: { "organization/plumr/ohio": outputs } });
        assert.strictEqual(JSON.parse(secretConfig(resources, "mumbai")).udp.remote_address, "10.10.1.201");
    });

    it("publishes its own sites in the form it reads", async () => {
        const { sites } = await runProgram({ stack: "ohio" });
        assert.strictEqual(publishedSiteSchema.safeParse(sites.ohio).success, true, JSON.stringify(sites.ohio));
    });
});

describe("the versions a stack publishes, and what it says of a peer's", () => {
    const ohioEnd = { address: "10.10.1.200", tunnelIp: "10.4.0.1", port: 5000 };
    const OHIO = "organization/plumr/ohio";
    const reader = { stack: "mumbai", programVersion: "0.1.0" };
    const peer = (versions: Record<string, unknown>) => published("ohio", ohioEnd, versions).sites;

    it("publishes with each site the program's version, package.json's, and the contract's", async () => {
        const { sites } = await runProgram({ stack: "ohio" });
        assert.strictEqual(sites.ohio.programVersion, PROGRAM_VERSION);
        assert.match(PROGRAM_VERSION, /^\d+\.\d+\.\d+/);
        assert.strictEqual(sites.ohio.contractVersion, CONTRACT_VERSION);
        assert.ok(CONTRACT_VERSION >= 1);
    });

    it("reads a peer of the same contract and says nothing", async () => {
        assert.strictEqual(
            readPeerSite(peer({ contractVersion: CONTRACT_VERSION, programVersion: "0.1.0" }), "ohio", OHIO, reader)?.warning,
            undefined,
        );
        const { warned, result } = await warnings(() =>
            runProgram({ stack: "mumbai", stackOutputs: { [OHIO]: published("ohio", ohioEnd) } }),
        );
        assert.deepStrictEqual(
            warned.filter((w) => /contract/.test(w)),
            [],
        );
        assert.strictEqual(JSON.parse(secretConfig(result.resources, "mumbai")).udp.remote_address, "10.10.1.200");
    });

    it("reads a peer published before contract versions, and warns once to upgrade that stack next, naming both versions", async () => {
        const outputs = published("ohio", ohioEnd, {});
        const { warned, result } = await warnings(() => runProgram({ stack: "mumbai", stackOutputs: { [OHIO]: outputs } }));
        assert.strictEqual(JSON.parse(secretConfig(result.resources, "mumbai")).udp.remote_address, "10.10.1.200");
        const said = warned.filter((w) => /contract/.test(w));
        assert.deepStrictEqual(said, [
            `stack ${OHIO} publishes contract version 0 (a program from before contract versions), older than this stack (mumbai) runs ` +
                `contract version ${CONTRACT_VERSION} (program ${PROGRAM_VERSION}); this stack still reads it. Upgrade stack ${OHIO} next: ` +
                `run pulumi up on it with program ${PROGRAM_VERSION} or newer, before a later program stops reading contract version 0`,
        ]);
    });

    it("reads an older contract it still reads with a warning, and refuses one older than it reads, naming the peer to upgrade", () => {
        const range = { version: 3, oldestRead: 2 };
        const older = readPeerSite(peer({ contractVersion: 2, programVersion: "0.2.0" }), "ohio", OHIO, reader, range)!;
        assert.deepStrictEqual(older.site.endpoints?.["ohio-mumbai"].address, "10.10.1.200");
        assert.match(
            older.warning!,
            /^stack organization\/plumr\/ohio publishes contract version 2 \(program 0\.2\.0\), older than this stack \(mumbai\) runs contract version 3 \(program 0\.1\.0\)/,
        );
        const err = (() => {
            try {
                readPeerSite(peer({ contractVersion: 1, programVersion: "0.1.0" }), "ohio", OHIO, reader, range);
            } catch (e) {
                return e as any;
            }
            assert.fail("an older contract than the reader reads was read");
        })();
        assert.deepStrictEqual(
            err.problems.map((p: any) => [p.field, p.value]),
            [[`stack ${OHIO}: output sites.ohio.contractVersion`, 1]],
        );
        assert.match(
            err.problems[0].message,
            /contract version 1 \(program 0\.1\.0\), older than the oldest this stack \(mumbai\) runs contract version 3 .* reads \(contract version 2\)/,
        );
        assert.strictEqual(
            err.problems[0].fix,
            `upgrade stack ${OHIO} first: run pulumi up on it with program 0.1.0, then on this stack again`,
        );
    });

    it("refuses a peer of a newer contract before reading its ends, and says to upgrade this stack first, naming both versions", async () => {
        const outputs = published(
            "ohio",
            { ...ohioEnd, port: "not what this program knows" },
            { contractVersion: CONTRACT_VERSION + 1, programVersion: "9.0.0" },
        );
        const err = await rejection(runProgram({ stack: "mumbai", stackOutputs: { [OHIO]: outputs } }));
        assert.deepStrictEqual(
            err.problems.map((p) => [p.field, p.value, p.message]),
            [
                [
                    `stack ${OHIO}: output sites.ohio.contractVersion`,
                    CONTRACT_VERSION + 1,
                    `stack ${OHIO} publishes contract version ${CONTRACT_VERSION + 1} (program 9.0.0), newer than this stack (mumbai) runs contract version ${CONTRACT_VERSION} (program ${PROGRAM_VERSION}) reads`,
                ],
            ],
        );
        assert.strictEqual(
            err.problems[0].fix,
            `upgrade this stack first: run pulumi up on stack mumbai with program 9.0.0 or newer, which reads contract version ${CONTRACT_VERSION + 1}`,
        );
    });

    it("refuses a contract version that is not one, with the fix to deploy the peer again", () => {
        assert.throws(
            () => readPeerSite(peer({ contractVersion: "1" }), "ohio", OHIO, reader),
            (err: any) =>
                err.problems[0].message === "not a contract version" &&
                /^run pulumi up on stack organization\/plumr\/ohio/.test(err.problems[0].fix),
        );
    });
});

describe("a stack that manages Mumbai only", () => {
    it("renders Mumbai's config from Ohio's published facts, through Mumbai's provider", async () => {
        const { resources } = await runProgram({
            stack: "mumbai",
            stackOutputs: { "organization/plumr/ohio": published("ohio", { address: "10.10.1.200", tunnelIp: "10.4.0.1", port: 5000 }) },
        });
        for (const r of kubernetesResources(resources)) assert.strictEqual(r.provider, "mumbai-cluster", `${r.type} ${r.name}`);
        const config = JSON.parse(secretConfig(resources, "mumbai"));
        assert.deepStrictEqual(config.udp, {
            local_address: "10.20.1.200",
            local_port: 5000,
            remote_address: "10.10.1.200",
            remote_port: 5000,
        });
        assert.strictEqual(config.tun.address, "10.4.0.2");
        assert.strictEqual(podSpec(resources, "mumbai").nodeSelector["kubernetes.io/hostname"], MUMBAI_NODE);
    });
});

describe("a stack that manages both sites", () => {
    let resources: Registered[];
    before(async () => {
        ({ resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"] }));
    });

    it("has one provider per site and sends each resource through its own site's", () => {
        const providers = resources
            .filter((r) => r.type === KUBERNETES_PROVIDER)
            .map((p) => p.name)
            .sort();
        assert.deepStrictEqual(providers, ["mumbai-cluster", "ohio-cluster"]);
        for (const r of kubernetesResources(resources)) {
            const site = r.name.split("-")[0];
            assert.strictEqual(r.provider, `${site}-cluster`, `${r.type} ${r.name}`);
        }
    });

    it("gives every custom resource an explicit provider", () => {
        const custom = resources.filter((r) => !r.type.startsWith("plumr:") && !r.type.startsWith("pulumi:"));
        for (const r of custom) assert.ok(r.provider, `${r.type} ${r.name} has no explicit provider`);
    });

    it("needs no stack reference", () => {
        assert.ok(!resources.some((r) => r.type === "pulumi:pulumi:StackReference"));
    });

    it("cross-references the two ends' addresses", () => {
        const ohio = JSON.parse(secretConfig(resources, "ohio"));
        const mumbai = JSON.parse(secretConfig(resources, "mumbai"));
        assert.strictEqual(ohio.udp.remote_address, mumbai.udp.local_address);
        assert.strictEqual(mumbai.udp.remote_address, ohio.udp.local_address);
        assert.strictEqual(ohio.udp.remote_address, "10.20.1.200");
        assert.strictEqual(mumbai.udp.remote_address, "10.10.1.200");
        assert.deepStrictEqual([ohio.tun.address, mumbai.tun.address], ["10.4.0.1", "10.4.0.2"]);
        const env = (site: string) => Object.fromEntries(podSpec(resources, site).initContainers[0].env.map((e: any) => [e.name, e.value]));
        assert.strictEqual(env("ohio").PLUMR_REMOTE_TUN_IP, "10.4.0.2");
        assert.strictEqual(env("mumbai").PLUMR_REMOTE_TUN_IP, "10.4.0.1");
        // The workload finds its link, its peer site and the peer's tunnel address in its environment.
        const workloadEnv = (site: string) =>
            Object.fromEntries(
                podSpec(resources, site)
                    .containers.find((c: any) => c.name === "workload")
                    .env.map((e: any) => [e.name, e.value]),
            );
        assert.deepStrictEqual(workloadEnv("ohio"), {
            PLUMR_LINK: "ohio-mumbai",
            PLUMR_PEER_SITE: "mumbai",
            PLUMR_TUN_IP: "10.4.0.1",
            PLUMR_REMOTE_TUN_IP: "10.4.0.2",
        });
        assert.strictEqual(workloadEnv("mumbai").PLUMR_PEER_SITE, "ohio");
    });

    it("writes the NetworkAttachmentDefinition Multus and the bridge plugin expect", () => {
        const nad = find(resources, "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition", "ohio-ohio-mumbai-attachment").inputs;
        assert.strictEqual(nad.apiVersion, "k8s.cni.cncf.io/v1");
        const config = JSON.parse(nad.spec.config);
        assert.strictEqual(config.type, "bridge");
        assert.strictEqual(
            config.isGateway,
            false,
            "the node agent gives the bridge its address; isGateway would switch on forwarding for the whole node",
        );
        assert.strictEqual(config.name, nad.metadata.name);
        assert.deepStrictEqual(
            config.capabilities,
            { ips: true },
            "Multus passes the pod's IP only to a plugin that declares capabilities.ips",
        );
        assert.ok(!nad.spec.config.includes("capabilites"));
        assert.strictEqual(config.ipam.type, "static");
        assert.deepStrictEqual(config.ipam.routes, [
            { dst: "10.10.2.0/24", gw: "10.10.1.1" },
            { dst: "10.20.0.0/16", gw: "10.10.1.1" },
        ]);
        const annotation = JSON.parse(
            deployment(resources, "ohio").inputs.spec.template.metadata.annotations["k8s.v1.cni.cncf.io/networks"],
        );
        assert.deepStrictEqual(annotation, [
            { name: nad.metadata.name, namespace: nad.metadata.namespace, interface: "net1", ips: ["10.10.1.200/24"] },
        ]);
    });

    it("pins one replica to its node and never runs two at once", () => {
        const spec = deployment(resources, "ohio").inputs.spec;
        assert.strictEqual(spec.replicas, 1);
        assert.deepStrictEqual(spec.strategy, { type: "Recreate" });
        assert.deepStrictEqual(spec.template.spec.nodeSelector, { "kubernetes.io/hostname": OHIO_NODE });
    });

    it("runs plumr as a native sidecar with probes on its tun device", () => {
        const spec = podSpec(resources, "ohio");
        assert.strictEqual(spec.initContainers.length, 1);
        const plumr = spec.initContainers[0];
        assert.strictEqual(plumr.name, "plumr");
        assert.strictEqual(plumr.restartPolicy, "Always");
        for (const probe of [plumr.startupProbe, plumr.livenessProbe])
            assert.match(probe.exec.command.join(" "), /\/sys\/class\/net\/tun\/flags/);
        assert.deepStrictEqual(
            spec.containers.map((c: any) => c.name),
            ["workload", "metrics"],
        );
        assert.deepStrictEqual(spec.containers[1].command, ["/bin/sh", "/plumr-exporter/plumr-exporter.sh"]);
        assert.deepStrictEqual(spec.containers[1].args, [
            "tun",
            "10.4.0.1",
            "10.4.0.2",
            'link="ohio-mumbai",site="ohio",peer_site="mumbai"',
        ]);
    });

    it("gives network privileges to plumr alone, and no container of an endpoint privileged", () => {
        const spec = podSpec(resources, "ohio");
        const [plumr] = spec.initContainers;
        assert.deepStrictEqual(plumr.securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
        // Of every pod the stack runs, only the node agent's container is privileged.
        const privileged = resources
            .filter((r) => r.type === "kubernetes:apps/v1:Deployment" || r.type === "kubernetes:apps/v1:DaemonSet")
            .flatMap((r) => {
                const pod = r.inputs.spec.template.spec;
                return [...(pod.initContainers ?? []), ...pod.containers]
                    .filter((c: any) => c.securityContext?.privileged !== false)
                    .map((c: any) => `${r.name}/${c.name}`);
            });
        assert.deepStrictEqual(privileged.sort(), ["mumbai-node-agent/agent", "ohio-node-agent/agent"]);
        // Root whatever the image's user: only root has the capabilities in effect and reads the 0400 config.
        assert.strictEqual(plumr.securityContext.runAsUser, 0);
        assert.strictEqual(spec.volumes.find((v: any) => v.name === "plumr-config").secret.defaultMode, 0o400);
        for (const container of spec.containers) {
            assert.strictEqual(container.securityContext.privileged, false, container.name);
            assert.strictEqual(container.securityContext.allowPrivilegeEscalation, false, container.name);
            assert.deepStrictEqual(container.securityContext.capabilities, { drop: ["ALL"] }, container.name);
        }
        const binaries = spec.volumes.find((v: any) => v.hostPath);
        for (const container of [...spec.initContainers, ...spec.containers]) {
            for (const mount of container.volumeMounts ?? []) {
                if (mount.name === binaries.name)
                    assert.strictEqual(mount.readOnly, true, `${container.name} mounts the binaries read-only`);
            }
        }
    });

    it("labels the namespace for Pod Security, and on OpenShift grants the privileged SCC to the node agent alone and the endpoints an SCC of their own", () => {
        const ns = find(resources, "kubernetes:core/v1:Namespace", "ohio-namespace").inputs;
        assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
        const role = find(resources, "kubernetes:rbac.authorization.k8s.io/v1:Role", "ohio-scc-privileged").inputs;
        assert.deepStrictEqual(role.rules, [
            {
                apiGroups: ["security.openshift.io"],
                resources: ["securitycontextconstraints"],
                resourceNames: ["privileged"],
                verbs: ["use"],
            },
        ]);
        const binding = find(resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ohio-scc-privileged").inputs;
        assert.deepStrictEqual(
            binding.subjects.map((s: any) => s.name),
            ["plumr-node-agent"],
        );
        const scc = find(resources, "kubernetes:security.openshift.io/v1:SecurityContextConstraints", "ohio-scc-endpoint").inputs;
        assert.strictEqual(scc.metadata.name, "plumr-endpoint-plumr");
        assert.strictEqual(scc.allowPrivilegedContainer, false);
        assert.strictEqual(scc.allowPrivilegeEscalation, false);
        assert.deepStrictEqual(scc.allowedCapabilities, ["NET_ADMIN"]);
        assert.deepStrictEqual(scc.seccompProfiles, ["runtime/default"]);
        assert.strictEqual(scc.allowHostNetwork, false);
        assert.strictEqual(scc.allowHostDirVolumePlugin, true, "the binaries and the tun device are host paths");
        const endpointRole = find(resources, "kubernetes:rbac.authorization.k8s.io/v1:Role", "ohio-scc-endpoint").inputs;
        assert.deepStrictEqual(endpointRole.rules[0].resourceNames, ["plumr-endpoint-plumr"]);
        const endpointBinding = find(resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ohio-scc-endpoint").inputs;
        assert.deepStrictEqual(
            endpointBinding.subjects.map((s: any) => s.name),
            ["plumr-endpoint"],
        );
        assert.strictEqual(podSpec(resources, "ohio").serviceAccountName, "plumr-endpoint");
        assert.strictEqual(agentPodSpec(resources, "ohio").serviceAccountName, "plumr-node-agent");
    });

    it("grants the endpoints the privileged SCC, and makes no SCC of their own, where the site runs plumr privileged", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.tunDevice = "privileged";
        const { resources: privileged } = await runProgram({ stack: "ohio", topology });
        const binding = find(privileged, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ohio-scc-privileged").inputs;
        assert.deepStrictEqual(binding.subjects.map((s: any) => s.name).sort(), ["plumr-endpoint", "plumr-node-agent"]);
        assert.strictEqual(
            privileged.some((r) => r.type.includes("SecurityContextConstraints")),
            false,
        );
        assert.strictEqual(podSpec(privileged, "ohio").initContainers[0].securityContext.privileged, true);
    });

    it("runs the node agent on exactly the site's nodes, privileged on the node's network, told the site's bridge and ranges", () => {
        const ds = find(resources, "kubernetes:apps/v1:DaemonSet", "ohio-node-agent").inputs.spec.template.spec;
        const terms = ds.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
        assert.deepStrictEqual(terms[0].matchExpressions[0].values, [OHIO_NODE, "ip-10-0-171-33.us-east-2.compute.internal"]);
        assert.strictEqual(ds.hostNetwork, true);
        const [agent] = ds.containers;
        assert.strictEqual(agent.securityContext.privileged, true);
        assert.deepStrictEqual(agent.readinessProbe.exec.command, ["/bin/sh", "/manifest/node-agent.sh", "check"]);
        assert.strictEqual(agent.terminationMessagePolicy, "FallbackToLogsOnError", "pulumi up prints the failed checks");
        const env = Object.fromEntries(agent.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
        assert.deepStrictEqual(env, {
            PLUMR_HOST_ROOT: "/host",
            PLUMR_SITE: "ohio",
            PLUMR_HOST_PATH: "/var/lib/plumr/bin",
            PLUMR_CNI_BIN_DIR: "/var/lib/cni/bin",
            PLUMR_CNI_PLUGINS: "bridge static",
            PLUMR_BRIDGE: "br-plumr",
            PLUMR_NODE_NETWORK: "agent",
            PLUMR_NODES: `${OHIO_NODE},10.10.1.1/24,10.10.1.0/24 ip-10-0-171-33.us-east-2.compute.internal,10.10.2.1/24,10.10.2.0/24`,
            PLUMR_BRIDGE_RANGE: "10.10.0.0/16",
            PLUMR_PEER_RANGES: "10.20.0.0/16",
        });
        assert.deepStrictEqual(agent.env[0], { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } });
        assert.deepStrictEqual(ds.volumes.find((v: any) => v.hostPath).hostPath, { path: "/", type: "Directory" });
        const manifest = find(resources, "kubernetes:core/v1:ConfigMap", "ohio-node-agent-manifest").inputs.data;
        assert.strictEqual(
            manifest["node-agent.sh"],
            fs.readFileSync(path.join(__dirname, "..", "..", "components", "scripts", "node-agent.sh"), "utf8"),
        );
        assert.strictEqual(manifest.CNI_SHA256SUMS, undefined, "no CNI plugins shipped unless binaries.cniPlugins names them");
    });
});

describe("site options", () => {
    it("ships the CNI plugins each site's attachment needs when binaries.cniPlugins names them", async () => {
        const topology = exampleTopology();
        topology.binaries.cniPlugins = "binaries";
        delete topology.sites.mumbai.aws;
        topology.sites.mumbai.attachment = "macvlan";
        const plugin = (name: string) => Buffer.from(`#!/bin/sh\necho ${name}\n`);
        const binaries = {
            plumr: standInBinary("plumr"),
            shm_printer: standInBinary("shm_printer"),
            bridge: plugin("bridge"),
            macvlan: plugin("macvlan"),
            static: plugin("static"),
        };
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology, binaries });
        for (const [site, plugins] of [
            ["ohio", ["bridge", "static"]],
            ["mumbai", ["macvlan", "static"]],
        ] as const) {
            const manifest = find(resources, "kubernetes:core/v1:ConfigMap", `${site}-node-agent-manifest`).inputs.data;
            assert.deepStrictEqual(
                manifest.CNI_SHA256SUMS.trim()
                    .split("\n")
                    .map((l: string) => l.split("  ")[1]),
                plugins,
            );
            const chunks = resources.filter(
                (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.startsWith(`${site}-node-agent-`) && r.inputs.binaryData,
            );
            assert.deepStrictEqual(
                chunks.map((c) => c.name.slice(`${site}-node-agent-`.length)).sort(),
                [...plugins.map((p) => `${p}.gz.000`), "plumr.gz.000", "shm_printer.gz.000"].sort(),
            );
        }
    });

    it("leaves forwarding to the cluster with nodeNetwork cluster, and keeps no bridge for macvlan", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.nodeNetwork = "cluster";
        delete topology.sites.mumbai.aws;
        topology.sites.mumbai.attachment = "macvlan";
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology });
        const env = (site: string) =>
            Object.fromEntries(
                find(resources, "kubernetes:apps/v1:DaemonSet", `${site}-node-agent`).inputs.spec.template.spec.containers[0].env.map(
                    (e: any) => [e.name, e.value],
                ),
            );
        assert.strictEqual(env("ohio").PLUMR_NODE_NETWORK, "cluster");
        assert.strictEqual(env("ohio").PLUMR_BRIDGE, "br-plumr");
        assert.strictEqual(env("mumbai").PLUMR_BRIDGE, undefined);
        assert.strictEqual(env("mumbai").PLUMR_CNI_PLUGINS, "macvlan static");
    });

    it("runs plumr as a plain container in legacy mode", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.sidecar = "legacy";
        const { resources } = await runProgram({ stack: "ohio", topology });
        const spec = podSpec(resources, "ohio");
        assert.deepStrictEqual(spec.initContainers, []);
        assert.deepStrictEqual(
            spec.containers.map((c: any) => c.name),
            ["plumr", "workload", "metrics"],
        );
        assert.ok(spec.containers[0].startupProbe && spec.containers[0].livenessProbe);
        assert.strictEqual(spec.containers[0].restartPolicy, undefined);
    });

    it("bounds how long an endpoint pod may take to stop, 10 s unless the workload says otherwise", async () => {
        const topology = exampleTopology();
        topology.sites.mumbai.workload.terminationGracePeriodSeconds = 2;
        const { resources } = await runProgram({ stack: "demo", sites: ["ohio", "mumbai"], topology });
        assert.strictEqual(podSpec(resources, "ohio").terminationGracePeriodSeconds, 10);
        assert.strictEqual(podSpec(resources, "mumbai").terminationGracePeriodSeconds, 2);
    });

    it("grants no SCC on plain Kubernetes", async () => {
        const topology = exampleTopology();
        topology.sites.ohio.platform = "kubernetes";
        const { resources } = await runProgram({ stack: "ohio", topology });
        assert.ok(!resources.some((r) => r.type.includes("rbac")));
        assert.ok(resources.some((r) => r.type === "kubernetes:apps/v1:DaemonSet"));
    });
});

describe("binary distribution", () => {
    const agent = (resources: Registered[]) => find(resources, "kubernetes:apps/v1:DaemonSet", "ohio-node-agent").inputs;
    const checksum = (resources: Registered[]) => agent(resources).spec.template.metadata.annotations["plumr/binaries-sha256"];

    it("rolls the node agent when a binary changes, and only then", async () => {
        const first = await runProgram({ stack: "ohio" });
        const again = await runProgram({ stack: "ohio" });
        const changed = await runProgram({
            stack: "ohio",
            binaries: { plumr: standInBinary("plumr-v2"), shm_printer: standInBinary("shm_printer") },
        });
        assert.strictEqual(checksum(first.resources), checksum(again.resources));
        assert.notStrictEqual(checksum(first.resources), checksum(changed.resources));
        assert.deepStrictEqual(agent(first.resources), agent(again.resources), "the same binaries render the same DaemonSet");
        const endpointSha = (r: Registered[]) => deployment(r, "ohio").inputs.spec.template.metadata.annotations["plumr/binaries-sha256"];
        assert.notStrictEqual(endpointSha(first.resources), endpointSha(changed.resources), "endpoints restart onto the new binary");
    });

    it("starts endpoints with the node agent, their plumr waiting on the node for exactly these binaries", async () => {
        const { resources } = await runProgram({ stack: "ohio" });
        // Only the pods wait for the site's prerequisites and the SCC grants; what they mount goes at once.
        const prerequisites = [
            "ohio-entrypoint",
            "ohio-exporter",
            "ohio-namespace",
            "ohio-plumr-endpoint",
            "ohio-plumr-node-agent",
            "ohio-scc-endpoint",
            "ohio-scc-privileged",
        ];
        const waitsFor = (r: Registered) => prerequisites.filter((p) => r.dependsOn.includes(p));
        assert.deepStrictEqual(waitsFor(deployment(resources, "ohio")), prerequisites);
        assert.deepStrictEqual(waitsFor(find(resources, "kubernetes:core/v1:Secret", "ohio-ohio-mumbai-config")), ["ohio-namespace"]);
        assert.deepStrictEqual([...find(resources, "plumr:link:Endpoint", "ohio-ohio-mumbai").dependsOn], []);
        assert.ok(find(resources, "kubernetes:apps/v1:DaemonSet", "ohio-node-agent").dependsOn.includes("ohio-scc-privileged"));
        assert.deepStrictEqual(waitsFor(find(resources, "kubernetes:core/v1:ConfigMap", "ohio-node-agent-manifest")), ["ohio-namespace"]);
        const plumr = podSpec(resources, "ohio").initContainers[0];
        const sums = plumr.env.find((e: any) => e.name === "PLUMR_SHA256SUMS").value;
        const manifest = find(resources, "kubernetes:core/v1:ConfigMap", "ohio-node-agent-manifest").inputs.data;
        assert.strictEqual(`${sums}\n`, manifest.SHA256SUMS, "what the node agent verifies");
    });

    it("cuts a large binary into ConfigMaps well under the 1 MiB limit, all mounted in order", async () => {
        const big = standInBinary("plumr", 1_400_000);
        const { resources } = await runProgram({ stack: "ohio", binaries: { plumr: big, shm_printer: standInBinary("shm_printer") } });
        const chunks = resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.binaryData);
        const plumrChunks = chunks.filter((c) => c.name.includes("-plumr.gz."));
        assert.ok(plumrChunks.length >= 3, `expected several chunks, got ${plumrChunks.length}`);
        for (const chunk of chunks) {
            assert.ok(JSON.stringify(chunk.inputs).length < 800 * 1024, `${chunk.name} is too large`);
            assert.strictEqual(chunk.inputs.immutable, true);
        }
        const joined = Buffer.concat(plumrChunks.map((c) => Buffer.from(c.inputs.binaryData.chunk, "base64")));
        assert.deepStrictEqual(require("zlib").gunzipSync(joined), big);
        const sources = agent(resources).spec.template.spec.volumes.find((v: any) => v.name === "chunks").projected.sources;
        const paths = sources.map((s: any) => s.configMap.items[0].path).filter((p: string) => p.startsWith("plumr."));
        assert.deepStrictEqual(
            paths,
            plumrChunks.map((_, i) => `plumr.gz.${String(i).padStart(3, "0")}`),
        );
    });
});

describe("bad configuration", () => {
    it("fails on a bad topology before registering any resource", async () => {
        const topology = exampleTopology();
        topology.links[0].ends[0].address = "10.10.9.200";
        const resources: Registered[] = [];
        const err = await rejection(runProgram({ stack: "ohio", topology }).then((r) => resources.push(...r.resources)));
        assert.match(err.message, /plumr:topology\.links\[0\]\.ends\[0\]\.address/);
        assert.strictEqual(resources.length, 0);
    });

    it("names the missing kubeconfig and how to set it", async () => {
        const err = await rejection(runProgram({ stack: "ohio", access: {} }));
        assert.strictEqual(err.problems[0].field, "plumr:access.ohio.kubeconfig");
        assert.match(err.problems[0].fix, /pulumi config set --secret --path 'plumr:access.ohio.kubeconfig'/);
    });

    it("rejects a stack whose name is not a site unless plumr:sites says which", async () => {
        const err = await rejection(runProgram({ stack: "staging" }));
        assert.strictEqual(err.problems[0].field, "plumr:sites");
        await rejection(runProgram({ stack: "demo", sites: ["ohio", "tokyo"] }));
    });

    it("refuses to run without the binaries", async () => {
        const err = await rejection(runProgram({ stack: "ohio", binaries: { plumr: standInBinary("plumr") } }));
        assert.strictEqual(err.problems[0].field, "plumr:topology.binaries.dir");
        assert.match(err.problems[0].message, /shm_printer/);
    });
});

describe("Pulumi.yaml", () => {
    it("disables default providers for every package", () => {
        const project = readProjectFile(SHIPPED_PROJECT);
        assert.deepStrictEqual(project.config["pulumi:disable-default-providers"].value, ["*"]);
    });
});

describe("what a run loads", () => {
    /** Runs the Ohio stack under mocks in a process of its own; whether it loaded the AWS packages. */
    function loadsAws(routing: string): boolean {
        const script = `
            const h = require("./test/support/harness");
            (async () => {
                const topology = h.exampleTopology();
                for (const site of Object.values(topology.sites)) site.aws.routing = ${JSON.stringify(routing)};
                await h.runProgram({ stack: "ohio", topology });
                const loaded = Object.keys(require.cache).some((file) => /node_modules\\/@pulumi\\/(aws|command)\\//.test(file));
                console.log(JSON.stringify({ loaded }));
            })();`;
        const output = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
            cwd: path.join(__dirname, "..", ".."),
            encoding: "utf8",
            timeout: 120_000,
        });
        return JSON.parse(output.trim().split("\n").pop()!).loaded;
    }

    it("loads the AWS packages only for a stack that routes a site through AWS", function () {
        this.timeout(240_000);
        assert.strictEqual(loadsAws("none"), false, "routing none: no @pulumi/aws or @pulumi/command");
        assert.strictEqual(loadsAws("transitGateway"), true);
    });

    it("starts without the Kubernetes SDK's index, and puts off what the Pulumi SDK sets up for features the program does not use", () => {
        // The program's modules loaded as the runner loads them; then each deferred piece asked for, as a user of it would.
        const script = `
            require("./program/loader.js");
            const loaded = (re) => Object.keys(require.cache).some((file) => re.test(file));
            const inspector = require("inspector");
            let sessions = 0;
            const connect = inspector.Session.prototype.connect;
            inspector.Session.prototype.connect = function () { sessions++; return connect.call(this); };
            const pulumi = require("@pulumi/pulumi");
            require("./program/deploy");
            require("source-map-support/register");
            const v8Hooks = require("@pulumi/pulumi/runtime/closure/v8Hooks");
            (async () => {
                await v8Hooks.isInitializedAsync();
                const atStart = {
                    kubernetesIndex: loaded(/@pulumi\\/kubernetes\\/index\\.js$/),
                    automation: loaded(/@pulumi\\/pulumi\\/automation\\/stack\\.js$/),
                    typescript: loaded(/node_modules\\/typescript\\/lib\\/typescript\\.js$/),
                    sourceMaps: loaded(/source-map-support\\/source-map-support\\.js$/),
                    debuggerSessions: sessions,
                };
                const onUse = {
                    automation: typeof pulumi.automation.LocalWorkspace,
                    typescript: typeof require("@pulumi/pulumi/typescript-shim").createSourceFile,
                    debuggerSession: typeof (await v8Hooks.getSessionAsync()).post,
                };
                console.log(JSON.stringify({ atStart, onUse }));
            })();`;
        const output = execFileSync(process.execPath, ["-e", script], {
            cwd: path.join(__dirname, "..", ".."),
            encoding: "utf8",
            timeout: 60_000,
        });
        const { atStart, onUse } = JSON.parse(output.trim().split("\n").pop()!);
        assert.deepStrictEqual(atStart, {
            kubernetesIndex: false,
            automation: false,
            typescript: false,
            sourceMaps: false,
            debuggerSessions: 0,
        });
        assert.deepStrictEqual(onUse, { automation: "function", typescript: "function", debuggerSession: "function" });
    });

    it("runs TypeScript without ts-node, keeps the JavaScript and the compiled code between runs, and never runs an edited module's old code", () => {
        const root = path.join(__dirname, "..", "..");
        for (const file of ["Pulumi.yaml", "examples/environments/Pulumi.yaml"]) {
            const project = YAML.parse(fs.readFileSync(path.join(root, file), "utf8"));
            // Node.js runs in the program's directory (main), where program/loader.js is.
            assert.strictEqual(project.runtime.options.nodeargs, "--require ./program/loader.js", file);
            assert.strictEqual(project.runtime.options.typescript, false, `${file}: the loader, not ts-node, runs the TypeScript`);
            assert.ok(fs.existsSync(path.resolve(path.dirname(path.join(root, file)), project.main ?? ".", "program/loader.js")), file);
        }
        const cache = path.join(root, "node_modules", ".cache", "plumr");
        fs.mkdirSync(path.join(root, ".cache"), { recursive: true });
        const dir = fs.mkdtempSync(path.join(root, ".cache", "loader-"));
        try {
            const module = path.join(dir, "module.ts");
            // A line number in a stack trace is the .ts file's own: the types before it are gone, its line is not.
            // A token of this run's own, so that neither text was kept by an earlier run.
            const token = `${process.pid}-${Date.now()}`;
            const program = (word: string) =>
                `// ${token}\ninterface Said {\n    word: string;\n}\nconst said: Said = { word: "${word}" };\nconsole.log(said.word, new Error().stack!.split("\\n")[1].split(":").at(-2));\n`;
            const run = () =>
                execFileSync(process.execPath, ["--require", "./program/loader.js", module], {
                    cwd: root,
                    encoding: "utf8",
                    timeout: 60_000,
                }).trim();
            const kept = () => fs.readdirSync(path.join(cache, "js")).filter((f) => f.endsWith(".js")).length;
            fs.writeFileSync(module, program("first"));
            fs.rmSync(path.join(cache, "compile"), { recursive: true, force: true });
            assert.strictEqual(run(), "first 6");
            const before = kept();
            assert.ok(fs.readdirSync(path.join(cache, "compile"), { recursive: true }).length > 0, "the compiled code is kept");
            assert.strictEqual(run(), "first 6");
            assert.strictEqual(kept(), before, "a module already kept is not transformed again");
            fs.writeFileSync(module, program("edited"));
            assert.strictEqual(run(), "edited 6");
            assert.strictEqual(kept(), before + 1, "an edited module is transformed again");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
