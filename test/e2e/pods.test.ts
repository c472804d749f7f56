// End to end on running pods: what the program deploys, run by real kubelets, containerd, runc and
// Multus on the tests' own local clusters (instance e2e), with the plumr stand-in shipped as the
// binary. Traffic goes from the unprivileged workload containers through the tunnel; faults are
// injected on the nodes and in the pods.
import * as assert from "assert";
import { Stack } from "@pulumi/pulumi/automation";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as ipaddr from "ipaddr.js";
import * as path from "path";
import { sha256 } from "../../planner/files/binaries";
import { PreflightCheck } from "../../planner/cluster/preflight";
import { ClusterSpec, instanceLeftovers, KubeApi, kubectl } from "../../dev/local/localClusters";
import { DeployedEnd, endpointPods, execIn, execResult, ping, readyPod } from "../../dev/local/linkProbe";
import { inNode, nodeCniBinDir, nodeCtr, RealNode } from "../../dev/local/localNodes";
import { routerNetns } from "../../dev/local/localUnderlay";
import { CNI_PLUGINS } from "../../dev/local/nodeConfig";
import { upLocal } from "../../dev/local/localSlots";
import { LocalDeployment, prepareLocalDeployment, preview, siteStack } from "../../dev/local/localStacks";
import { sleep, waitFor } from "../../lib/processes";
import { PROBE_INTERVAL_SECONDS } from "../../planner/cluster/metrics";
import { EndReport } from "../../commands/verify";
import { e2eClusters, E2E } from "../support/localClusters";
import { previewChanges } from "../support/previews";
import { restrictForwarding, securityGroup, snatLikeVpcCni } from "../support/platformRules";

const LINK = "ohio-mumbai";
const NAMESPACE = "plumr";
const HOST_BIN = "/var/lib/plumr/bin";
/** The workload notes, as it starts, whether plumr's tun device is already up. */
const WORKLOAD = ["/bin/sh", "-c", "cat /sys/class/net/tun/flags >/tmp/tun-at-start 2>&1; trap 'exit 0' TERM; sleep infinity & wait"];

const withWorkload =
    (change: (t: any) => void = () => {}) =>
    (t: any) => {
        for (const site of Object.values<any>(t.sites)) site.workload.command = WORKLOAD;
        change(t);
    };

describe("end to end on running pods", function () {
    this.timeout(30 * 60_000);
    let clusters: Record<string, ClusterSpec>;
    let deployment: LocalDeployment;
    const stacks: Record<string, Stack> = {};
    let ends: Record<string, DeployedEnd>;
    let nodes: Record<string, RealNode>;

    const upBoth = async (change?: (t: any) => void) => {
        prepareLocalDeployment(E2E, withWorkload(change));
        // Mumbai first: the changes these tests make are at Mumbai's end, which Ohio reads from Mumbai's stack.
        for (const name of ["mumbai", "ohio"]) {
            const result = await upLocal(stacks[name], E2E, { color: "never" });
            assert.strictEqual(result.summary.result, "succeeded");
        }
        for (const name of ["ohio", "mumbai"]) await waitFor(`${name}'s endpoint pod`, 120_000, () => readyPod(ends[name]));
    };
    const pod = async (site: string) => (await waitFor(`${site}'s endpoint pod`, 120_000, () => readyPod(ends[site]))) as any;
    const restarts = (p: any, container: string) =>
        [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])].find((c: any) => c.name === container)
            .restartCount;
    const tunnelPasses = async (from: string, to: string) => {
        const p = await pod(from);
        return (await ping(ends[from], p.metadata.name, ends[to].tunnelIp, 3)).received > 0;
    };
    const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 90_000) =>
        waitFor(what, timeoutMs, async () => ((await check()) ? true : undefined), 1000);

    before(async () => {
        const list = await e2eClusters();
        clusters = Object.fromEntries(list.map((c) => [c.name, c]));
        deployment = prepareLocalDeployment(E2E, withWorkload());
        for (const c of list) stacks[c.name] = await siteStack(deployment, c);
        ends = {
            ohio: { cluster: clusters.ohio, namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.1", address: "10.10.1.200" },
            mumbai: { cluster: clusters.mumbai, namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.2", address: "10.20.1.200" },
        };
        await upBoth();
        // Each end's node is the one its pool's slot placed it on, as its stack published it.
        nodes = {};
        for (const c of list) {
            const node = (await stacks[c.name].outputs()).sites.value[c.name].endpoints[LINK].node;
            nodes[c.name] = c.realNodes.find((n) => n.name === node)!;
        }
    });

    it("passes traffic through the tunnel both ways, from the unprivileged workload containers", async () => {
        assert.ok(await tunnelPasses("ohio", "mumbai"), "ohio reaches mumbai's tunnel address");
        assert.ok(await tunnelPasses("mumbai", "ohio"), "mumbai reaches ohio's tunnel address");
    });

    it("installs both binaries with the shipped checksums into the node's hostPath", async () => {
        for (const site of ["ohio", "mumbai"]) {
            const sums = inNode(nodes[site], ["sha256sum", `${HOST_BIN}/plumr`, `${HOST_BIN}/shm_printer`]);
            for (const binary of ["plumr", "shm_printer"]) {
                const shipped = sha256(fs.readFileSync(path.join(deployment.projectDir, "..", "stand-in-binaries", binary)));
                assert.match(sums, new RegExp(`^${shipped}  ${HOST_BIN}/${binary}$`, "m"), `${binary} on ${nodes[site].name}`);
            }
        }
    });

    const agentPod = async (site: string) =>
        (
            (
                await new KubeApi(clusters[site]).get(
                    `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dnode-agent`,
                )
            ).items as any[]
        ).find((p) => p.spec.nodeName === nodes[site].name && !p.metadata.deletionTimestamp);
    const isReady = (p: any) => p?.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");

    it("fails the node agent's check on a corrupted binary, naming the node, and the agent installs it again", async () => {
        const node = nodes.ohio;
        const good = inNode(node, ["sha256sum", `${HOST_BIN}/shm_printer`]);
        const before = (await agentPod("ohio")).status.containerStatuses[0].restartCount;
        inNode(node, ["/bin/sh", "-c", `echo corrupted >> ${HOST_BIN}/shm_printer`]);
        const repaired = await waitFor("the node agent to restart and be ready again", 120_000, async () => {
            const p = await agentPod("ohio");
            return p.status.containerStatuses[0].restartCount > before && isReady(p) ? p : undefined;
        });
        assert.strictEqual(inNode(node, ["sha256sum", `${HOST_BIN}/shm_printer`]), good);
        assert.match(
            repaired.status.containerStatuses[0].lastState.terminated.message,
            new RegExp(
                `node-agent: node ${node.name.replace(/\./g, "\\.")}: binaries: ${HOST_BIN}/? does not hold the plumr and shm_printer this agent shipped`,
            ),
        );
    });

    it("starts plumr before the workload", async () => {
        for (const site of ["ohio", "mumbai"]) {
            const p = await pod(site);
            const flags = await execIn(ends[site], p.metadata.name, "workload", ["cat", "/tmp/tun-at-start"]);
            assert.match(
                flags,
                /^0x[0-9a-f]*[13579bdf]$/m,
                `${site}: the tun device was up when the workload started (flags ${flags.trim()})`,
            );
        }
    });

    it("restarts the plumr sidecar alone when its process is killed, and traffic flows again", async () => {
        const p = await pod("ohio");
        const status = p.status.initContainerStatuses.find((c: any) => c.name === "plumr");
        const id = status.containerID.replace("containerd://", "");
        const tasks = nodeCtr(nodes.ohio, ["tasks", "ls"]);
        const pid = new RegExp(`^${id}\\s+(\\d+)`, "m").exec(tasks)?.[1];
        assert.ok(pid, `the plumr container's process is among the node's tasks:\n${tasks}`);
        process.kill(Number(pid), "SIGKILL");
        await eventually("plumr to be restarted", async () => {
            const now = await readyPod(ends.ohio);
            return now !== undefined && restarts(now, "plumr") > restarts(p, "plumr");
        });
        const after = await pod("ohio");
        assert.strictEqual(after.metadata.uid, p.metadata.uid, "the same pod");
        assert.strictEqual(restarts(after, "workload"), 0, "the workload kept running");
        assert.ok(await eventually("traffic through the restarted tunnel", () => tunnelPasses("ohio", "mumbai")));
    });

    it("restarts plumr through its liveness probe when the tun device is deleted", async () => {
        const p = await pod("mumbai");
        await execIn(ends.mumbai, p.metadata.name, "plumr", ["ip", "link", "del", "tun"]);
        await eventually(
            "the liveness probe to restart plumr",
            async () => {
                const now = await readyPod(ends.mumbai);
                return now !== undefined && restarts(now, "plumr") > restarts(p, "plumr");
            },
            120_000,
        );
        assert.strictEqual(restarts(await pod("mumbai"), "workload"), 0);
        assert.ok(await eventually("traffic through the new tun device", () => tunnelPasses("ohio", "mumbai")));
    });

    it("keeps the workload container from creating a tun device or changing the pod's routes", async () => {
        const p = await pod("ohio");
        const refused = async (command: string[]) => {
            const err = await execIn(ends.ohio, p.metadata.name, "workload", command).then(
                () => undefined,
                (e: Error) => e.message,
            );
            assert.ok(err, `${command.join(" ")} must fail in the workload container`);
            assert.match(err, /Operation not permitted|open: No such file or directory/, `${command.join(" ")}: ${err}`);
        };
        // No /dev/net/tun in the container, and no NET_ADMIN to make one work.
        await refused(["ip", "tuntap", "add", "mode", "tun", "dev", "t0"]);
        await refused(["ip", "route", "add", "203.0.113.0/24", "dev", "net1"]);
        await refused(["ip", "route", "del", ends.mumbai.tunnelIp]);
        // It still uses what plumr set up.
        assert.ok(await tunnelPasses("ohio", "mumbai"));
    });

    it("runs plumr unprivileged: NET_ADMIN alone in effect, the runtime's seccomp, no new privileges, and no host device but the tun", async () => {
        const p = await pod("ohio");
        const id = p.status.initContainerStatuses.find((c: any) => c.name === "plumr").containerID.replace("containerd://", "");
        const pid = new RegExp(`^${id}\\s+(\\d+)`, "m").exec(nodeCtr(nodes.ohio, ["tasks", "ls"]))?.[1];
        assert.ok(pid, "the plumr container's process is among the node's tasks");
        // The container's first process (the stand-in) and its children (socat, which holds the tun device).
        const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
        assert.ok(children.length > 0, "the stand-in runs socat");
        const NET_ADMIN = (1n << 12n).toString(16).padStart(16, "0");
        for (const each of [pid, ...children]) {
            const status = Object.fromEntries(
                fs
                    .readFileSync(`/proc/${each}/status`, "utf8")
                    .split("\n")
                    .map((line) => line.split(/:\s*/, 2)),
            );
            assert.deepStrictEqual(
                [status.CapEff, status.CapPrm, status.CapBnd, status.NoNewPrivs, status.Seccomp, status.Uid.split(/\s+/)[0]],
                [NET_ADMIN, NET_ADMIN, NET_ADMIN, "1", "2", "0"],
                `process ${each} (${status.Name}) of the plumr container`,
            );
        }
        // The device cgroup grants read or write on the tun device (10:200) and the standard ones alone.
        const devicesCgroup = fs
            .readFileSync(`/proc/${pid}/cgroup`, "utf8")
            .split("\n")
            .find((line) => /^\d+:devices:/.test(line))!
            .split(":")[2];
        const rules = fs.readFileSync(`/sys/fs/cgroup/devices${devicesCgroup}/devices.list`, "utf8").trim().split("\n");
        const readable = rules.filter((r) => /[rw]/.test(r.split(" ")[2])).map((r) => r.split(" ").slice(0, 2).join(" "));
        const standard = ["c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0", "c 5:1", "c 5:2", "c 136:*"];
        assert.deepStrictEqual(
            readable.filter((r) => !standard.includes(r)),
            ["c 10:200"],
            `the plumr container's device rules:\n${rules.join("\n")}`,
        );
        // In the container: /dev/mem is not there, and no device can be made.
        const tried = async (command: string[]) =>
            execResult(ends.ohio, p.metadata.name, "plumr", command).then((r) => `${r.code} ${r.stdout}${r.stderr}`);
        assert.match(await tried(["head", "-c", "1", "/dev/mem"]), /^[1-9]\d* .*No such file or directory/);
        assert.match(await tried(["mknod", "/tmp/mem", "c", "1", "1"]), /^[1-9]\d* .*Operation not permitted/);
        assert.match(await tried(["touch", "/plumr-was-here"]), /^[1-9]\d* .*Read-only file system/);
        assert.ok(await tunnelPasses("ohio", "mumbai"), "and plumr's tunnel passes traffic");
    });

    it("under real Multus, gives net1 its address; the original demo's misspelt attachment only through Multus's fallback", async () => {
        const p = await pod("ohio");
        const addresses = await execIn(ends.ohio, p.metadata.name, "workload", ["ip", "-4", "-o", "addr", "show", "dev", "net1"]);
        assert.match(addresses, /inet 10\.10\.1\.200\/24/);
        const status = JSON.parse(p.metadata.annotations["k8s.v1.cni.cncf.io/network-status"]);
        assert.deepStrictEqual(status.find((s: any) => s.interface === "net1")?.ips, ["10.10.1.200"], "Multus reports the address it gave");
        // The original demo's attachment, as it was written: capabilities misspelt, inside ipam. Multus
        // 4 still hands the requested address to the plugin as CNI_ARGS IP=... (deprecated since 3.5),
        // which the static IPAM plugin reads: that is why the misspelling went unnoticed. The data-plane
        // twin shows that without that fallback it gets none. On a bridge and a range of its own here,
        // so that its gateway never competes with the endpoint's on the node.
        const api = new KubeApi(clusters.ohio);
        const ns = "plumr-original-demo";
        const gone = async () => ((await api.request("GET", `/api/v1/namespaces/${ns}`)).status === 404 ? true : undefined);
        await api.request("DELETE", `/api/v1/namespaces/${ns}`);
        await waitFor("an earlier run's namespace to go", 120_000, gone);
        await api.ensure("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
        const original = {
            cniVersion: "0.3.0",
            type: "bridge",
            bridge: "br-original",
            isGateway: true,
            ipam: { type: "static", capabilites: { ips: true } },
        };
        await api.ensure(`/apis/k8s.cni.cncf.io/v1/namespaces/${ns}/network-attachment-definitions`, {
            apiVersion: "k8s.cni.cncf.io/v1",
            kind: "NetworkAttachmentDefinition",
            metadata: { name: "original" },
            spec: { config: JSON.stringify(original) },
        });
        const image = p.spec.containers.find((c: any) => c.name === "workload").image;
        await api.ensure(`/api/v1/namespaces/${ns}/pods`, {
            apiVersion: "v1",
            kind: "Pod",
            metadata: {
                name: "original",
                annotations: { "k8s.v1.cni.cncf.io/networks": JSON.stringify([{ name: "original", ips: ["10.99.1.210/24"] }]) },
            },
            spec: {
                nodeName: nodes.ohio.name,
                terminationGracePeriodSeconds: 0,
                containers: [
                    {
                        name: "workload",
                        image,
                        command: ["sleep", "infinity"],
                        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                    },
                ],
            },
        });
        try {
            const end = { ...ends.ohio, namespace: ns };
            await waitFor("the original demo's pod to run", 90_000, async () =>
                (await api.get(`/api/v1/namespaces/${ns}/pods/original`)).status.phase === "Running" ? true : undefined,
            );
            const net1 = await execIn(end, "original", "workload", ["ip", "-4", "-o", "addr", "show", "dev", "net1"]);
            assert.match(net1, /inet 10\.99\.1\.210\/24/);
        } finally {
            await api.request("DELETE", `/api/v1/namespaces/${ns}`);
            await waitFor("the original demo's namespace to go", 120_000, gone);
            inNode(nodes.ohio, ["ip", "link", "del", "br-original"]);
        }
    });

    it("rolls both pods on a changed address, and the tunnel works at the new one", async () => {
        const before = { ohio: await pod("ohio"), mumbai: await pod("mumbai") };
        const moved = (t: any) => (t.links[0].ends[1].address = "10.20.1.201");
        try {
            await upBoth(moved);
            const secret = await new KubeApi(clusters.ohio).get(`/api/v1/namespaces/${NAMESPACE}/secrets/plumr-${LINK}-config`);
            assert.strictEqual(JSON.parse(Buffer.from(secret.data["config.json"], "base64").toString()).udp.remote_address, "10.20.1.201");
            const after = { ohio: await pod("ohio"), mumbai: await pod("mumbai") };
            for (const site of ["ohio", "mumbai"] as const)
                assert.notStrictEqual(after[site].metadata.uid, before[site].metadata.uid, `${site}'s pod rolled`);
            const net1 = await execIn(ends.mumbai, after.mumbai.metadata.name, "workload", [
                "ip",
                "-4",
                "-o",
                "addr",
                "show",
                "dev",
                "net1",
            ]);
            assert.match(net1, /inet 10\.20\.1\.201\/24/);
            assert.ok(await eventually("traffic at the new address", () => tunnelPasses("ohio", "mumbai")));
        } finally {
            await upBoth();
        }
    });

    it("rolls the node agent on a new binary, then restarts the endpoints onto it", async () => {
        const binaries = path.join(deployment.projectDir, "..", "stand-in-binaries");
        const before = await pod("ohio");
        const build = `# build ${Date.now()}\n`;
        try {
            // prepareLocalDeployment copies the stand-ins afresh: change the copy after it.
            prepareLocalDeployment(E2E, withWorkload());
            fs.appendFileSync(path.join(binaries, "plumr"), build);
            const changed = sha256(fs.readFileSync(path.join(binaries, "plumr")));
            for (const name of ["ohio", "mumbai"]) await upLocal(stacks[name], E2E, { color: "never" });
            assert.match(inNode(nodes.ohio, ["sha256sum", `${HOST_BIN}/plumr`]), new RegExp(`^${changed} `));
            const after = await pod("ohio");
            assert.notStrictEqual(after.metadata.uid, before.metadata.uid, "the endpoint restarted");
            // The running plumr says which build it is.
            const logs = await kubectl(clusters.ohio, ["-n", NAMESPACE, "logs", after.metadata.name, "-c", "plumr"]);
            assert.match(logs, new RegExp(`plumr stand-in ${changed.slice(0, 12)}:`));
        } finally {
            await upBoth();
        }
    });

    /** Runs a user command's script (npm run verify, npm run preflight) on one stack of these clusters, as a user would: its exit code and its JSON. */
    const userCommand = <T>(command: "verify" | "preflight", stack: string) => {
        const result = spawnSync(
            "npx",
            ["ts-node", "--transpile-only", `commands/${command}.ts`, stack, "--json", "--cwd", deployment.projectDir],
            { cwd: path.join(__dirname, "..", ".."), env: { ...process.env, ...deployment.env }, encoding: "utf8", timeout: 5 * 60_000 },
        );
        assert.ok(result.stdout.trim().startsWith("["), `${command} printed no JSON: ${result.stdout}\n${result.stderr}`);
        return { status: result.status, reports: JSON.parse(result.stdout) as T[] };
    };
    const verify = (stack: string) => userCommand<EndReport>("verify", stack);

    it("passes npm run preflight on both stacks, and fails it, like the preview, on an end pinned to a node its pool does not have", async () => {
        for (const site of ["ohio", "mumbai"]) {
            const { status, reports } = userCommand<PreflightCheck>("preflight", site);
            assert.deepStrictEqual(
                reports.filter((c) => !c.ok),
                [],
            );
            assert.deepStrictEqual(
                reports.map((c) => c.check),
                [
                    "configuration",
                    "Kubernetes version",
                    "nodes",
                    "architecture",
                    "Multus",
                    "Prometheus operator",
                    "rights",
                    "node systems",
                    "tun device",
                    "cluster networks",
                    "node forwarding",
                    "privileged SCC",
                    "VPC CNI SNAT",
                ],
            );
            assert.strictEqual(status, 0);
        }
        const missing = "ip-10-0-9-9.us-east-2.compute.internal";
        try {
            prepareLocalDeployment(
                E2E,
                withWorkload((t) => {
                    // Placed on that node, the end takes an address of its slot.
                    t.links[0].ends[0] = { site: "ohio", node: missing };
                }),
            );
            const { status, reports } = userCommand<PreflightCheck>("preflight", "ohio");
            assert.strictEqual(status, 1);
            const failing = reports.filter((c) => !c.ok);
            assert.deepStrictEqual(
                failing.map((c) => [c.check, c.problems.map((p) => p.field)]),
                [["pools placed on their clusters", ["plumr:topology.links[0].ends[0].node"]]],
            );
            await assert.rejects(preview(stacks.ohio, { color: "never" }), (err: Error) => {
                assert.match(
                    err.message,
                    new RegExp(`links\\[0\\]\\.ends\\[0\\]\\.node = "${missing.replace(/\./g, "\\.")}": not a node of site ohio's pool`),
                );
                return true;
            });
        } finally {
            prepareLocalDeployment(E2E, withWorkload());
        }
    });

    it("passes npm run verify on every end: pod, containers, node agent, tun device, ping and metrics", async () => {
        for (const site of ["ohio", "mumbai"]) {
            const { status, reports } = verify(site);
            assert.strictEqual(reports.length, 1, JSON.stringify(reports));
            const [end] = reports;
            assert.deepStrictEqual([end.link, end.site, end.node], [LINK, site, nodes[site].name]);
            for (const [name, check] of Object.entries(end.checks)) assert.ok(check.ok, `${site} ${name}: ${check.detail}`);
            assert.match(
                end.checks.ping.detail,
                new RegExp(`^3/3 from ${ends[site === "ohio" ? "mumbai" : "ohio"].tunnelIp.replace(/\./g, "\\.")}, rtt`),
            );
            assert.match(end.checks.metrics.detail, /^up 1, rtt \d+\.\d{3} ms, loss \d+%, probed \d+ s ago$/);
            assert.strictEqual(status, 0);
        }
    });

    it("fails npm run verify, naming the end and the check, when an end has no pod or its tunnel is down", async () => {
        try {
            await kubectl(clusters.mumbai, ["-n", NAMESPACE, "scale", "deployment", `plumr-${LINK}`, "--replicas=0"]);
            await eventually("mumbai's endpoint pod gone", async () => (await endpointPods(ends.mumbai)).length === 0);
            const mumbai = verify("mumbai");
            assert.strictEqual(mumbai.status, 1);
            assert.strictEqual(mumbai.reports[0].checks.pod.ok, false);
            assert.match(mumbai.reports[0].checks.pod.detail, /no endpoint pod with label plumr\/link=ohio-mumbai/);
            // Ohio's own pod is fine, but nothing answers at the other end: its ping fails at once, and
            // its metrics once the exporter's next probe round has found the link down.
            await eventually("ohio's metrics say the link is down", async () => verify("ohio").reports[0].checks.metrics.ok === false);
            const ohio = verify("ohio");
            assert.strictEqual(ohio.status, 1);
            assert.deepStrictEqual(
                Object.entries(ohio.reports[0].checks)
                    .filter(([, c]) => !c.ok)
                    .map(([name]) => name),
                ["ping", "metrics"],
            );
        } finally {
            await kubectl(clusters.mumbai, ["-n", NAMESPACE, "scale", "deployment", `plumr-${LINK}`, "--replicas=1"]);
            await pod("mumbai");
        }
    });

    it("previews a third spoke as changes to the hub and the new spoke alone; reaches the three by name from the hub's unprivileged workload, and keeps two links passing while the third's plumr is down", async () => {
        const spokes = ["cam-a", "cam-b", "cam-c"];
        const hubTopology = (count: number) => (t: any) => {
            t.endpoints = { hub: { site: "ohio", node: nodes.ohio.name } };
            for (const spoke of spokes.slice(0, count)) {
                t.endpoints[spoke] = { site: "mumbai", node: nodes.mumbai.name };
                t.links.push({ name: `hub-${spoke.slice(-1)}`, endpoints: ["hub", spoke] });
            }
        };
        const at = (site: string, endpoint: string, link: string): DeployedEnd => ({
            cluster: clusters[site],
            namespace: NAMESPACE,
            link,
            endpoint,
            tunnelIp: "",
            address: "",
        });
        const hub = at("ohio", "hub", "hub-a");
        const hubPod = async () => (await waitFor("the hub's pod", 180_000, () => readyPod(hub))) as any;
        const reaches = async (end: DeployedEnd, pod: string, name: string) => (await ping(end, pod, name, 3)).received > 0;
        try {
            await upBoth(hubTopology(2));
            prepareLocalDeployment(E2E, withWorkload(hubTopology(3)));
            assert.deepStrictEqual(await previewChanges(stacks.ohio), [
                "update kubernetes:apps/v1:Deployment ohio-hub",
                "update kubernetes:core/v1:Secret ohio-hub-config",
            ]);
            assert.deepStrictEqual(await previewChanges(stacks.mumbai), [
                "create kubernetes:apps/v1:Deployment mumbai-cam-c",
                "create kubernetes:core/v1:Secret mumbai-cam-c-config",
                "create kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition mumbai-cam-c-attachment",
                "create plumr:link:Endpoint mumbai-cam-c",
            ]);
            await upBoth(hubTopology(3));
            const before = await hubPod();
            const name: string = before.metadata.name;
            assert.deepStrictEqual(
                before.spec.initContainers.map((c: any) => c.name),
                ["plumr-hub-a", "plumr-hub-b", "plumr-hub-c"],
            );
            // The workload holds no capability at all.
            const proc = await execIn(hub, name, "workload", ["cat", "/proc/self/status"]);
            assert.match(proc, /^CapEff:\s+0+$/m);

            const peers = JSON.parse(await execIn(hub, name, "workload", ["cat", "/etc/plumr-peers/peers.json"]));
            assert.deepStrictEqual(
                peers.peers.map((p: any) => [p.endpoint, p.site, p.link, p.device]),
                spokes.map((spoke) => [spoke, "mumbai", `hub-${spoke.slice(-1)}`, `tun-${spoke}`]),
            );
            for (const target of ["cam-a", "cam-b.mumbai", "cam-c"])
                assert.ok(await eventually(`the hub to reach ${target} by name`, () => reaches(hub, name, target)), target);
            for (const spoke of spokes) {
                const end = at("mumbai", spoke, `hub-${spoke.slice(-1)}`);
                const pod = (await waitFor(`${spoke}'s pod`, 120_000, () => readyPod(end))) as any;
                assert.ok(await reaches(end, pod.metadata.name, "hub.ohio"), `${spoke} reaches the hub by name`);
            }
            // npm run verify checks each of the hub's links in its own sidecar, pinging the peer by name;
            // the first link's ends, restarted by the earlier tests, pass it once their tunnel is up and
            // the exporter's next probe round (every 10 s) has seen it so: verify reads its metrics too.
            await eventually("the link ohio-mumbai to pass traffic", linkPasses);
            let { status, reports } = verify("ohio");
            for (let round = 1; status !== 0 && round <= 3; round++) {
                await sleep(PROBE_INTERVAL_SECONDS * 1000);
                ({ status, reports } = verify("ohio"));
            }
            const hubReports = reports.filter((r) => r.link.startsWith("hub-"));
            assert.deepStrictEqual(
                hubReports.map((r) => [r.link, r.pod, r.checks.tunnel.detail]),
                spokes.map((spoke) => [`hub-${spoke.slice(-1)}`, name, `tun-${spoke} up`]),
            );
            for (const r of hubReports)
                for (const [check, c] of Object.entries(r.checks)) assert.ok(c.ok, `${r.link} ${check}: ${c.detail}`);
            assert.match(hubReports[1].checks.ping.detail, /^3\/3 from cam-b, rtt/);
            const failing = reports.filter((r) => Object.values(r.checks).some((c) => !c.ok));
            assert.deepStrictEqual(failing, [], "every end the stack deploys passes");
            assert.strictEqual(status, 0);

            // hub-b's plumr hangs: its tunnel stops, the other two links pass.
            // Every process of its container but this shell (the container's first one ignores the signal).
            const stopAll = 'for d in /proc/[0-9]*; do [ "${d#/proc/}" = "$$" ] || kill -s STOP "${d#/proc/}" 2>/dev/null; done; true';
            await execIn(hub, name, "plumr-hub-b", ["/bin/sh", "-c", stopAll]);
            assert.strictEqual(await reaches(hub, name, "cam-b"), false, "nothing crosses the hung link");
            for (const target of ["cam-a", "cam-c"]) assert.ok(await reaches(hub, name, target), `${target} while hub-b is down`);

            // Killed, the kubelet restarts it alone, and its link passes again.
            const id = before.status.initContainerStatuses
                .find((c: any) => c.name === "plumr-hub-b")
                .containerID.replace("containerd://", "");
            const pid = new RegExp(`^${id}\\s+(\\d+)`, "m").exec(nodeCtr(nodes.ohio, ["tasks", "ls"]))?.[1];
            assert.ok(pid, "hub-b's plumr is among the node's tasks");
            process.kill(Number(pid), "SIGKILL");
            await eventually("hub-b's plumr to be restarted", async () => {
                const now = await readyPod(hub);
                return now !== undefined && restarts(now, "plumr-hub-b") > restarts(before, "plumr-hub-b");
            });
            const after = await hubPod();
            assert.strictEqual(after.metadata.uid, before.metadata.uid, "the same pod");
            for (const container of ["plumr-hub-a", "plumr-hub-c", "workload"])
                assert.strictEqual(restarts(after, container), restarts(before, container), `${container} kept running`);
            assert.ok(await eventually("cam-b to answer again", () => reaches(hub, name, "cam-b")));
        } finally {
            await upBoth();
        }
    });

    /** Both sites' link: whether three pings cross the tunnel each way. */
    const linkPasses = async () => (await tunnelPasses("ohio", "mumbai")) && (await tunnelPasses("mumbai", "ohio"));
    const nodeNetwork = (mode: string) => (t: any) => {
        for (const site of Object.values<any>(t.sites)) site.nodeNetwork = mode;
    };

    it("on nodes forwarding as OVN-Kubernetes's ipForwarding Restricted does, passes no traffic left to the cluster, and passes it with the node agent's forwarding", async () => {
        const undo = [restrictForwarding(nodes.ohio), restrictForwarding(nodes.mumbai)];
        try {
            await upBoth(nodeNetwork("cluster"));
            assert.strictEqual(await linkPasses(), false, "the nodes drop what the bridge sends towards their uplink");
            await upBoth(nodeNetwork("agent"));
            await eventually("traffic through the tunnel both ways", linkPasses);
            for (const site of ["ohio", "mumbai"])
                assert.match(
                    execFileSync("ip", ["netns", "exec", nodes[site].netns, "iptables", "-S", "FORWARD"], { encoding: "utf8" }),
                    /^-P FORWARD ACCEPT\n-A FORWARD -j PLUMR-FORWARD\n-A FORWARD -i eth0 -j DROP\n-A FORWARD -o eth0 -j DROP\n$/,
                    "the node's own rules stay, behind the agent's",
                );
        } finally {
            undo.forEach((f) => f());
            await upBoth();
        }
    });

    it("behind security groups on nodes whose VPC CNI source-NATs, passes no traffic left to the cluster, and passes it with the node agent's NAT exemption", async () => {
        const outputs = async (site: string) => (await stacks[site].outputs()).sites.value[site].endpoints[LINK];
        const [ohio, mumbai] = [await outputs("ohio"), await outputs("mumbai")];
        const vpc = (node: RealNode) =>
            `${ipaddr.IPv4.networkAddressFromCIDR(`${node.underlay.address}/${node.underlay.prefixLength}`)}/${node.underlay.prefixLength}`;
        // Left to the cluster first, then the cluster's rules: no flow of the link is from before them.
        await upBoth(nodeNetwork("cluster"));
        const undo = [
            snatLikeVpcCni(nodes.ohio, vpc(nodes.ohio)),
            snatLikeVpcCni(nodes.mumbai, vpc(nodes.mumbai)),
            securityGroup(routerNetns(E2E, "ohio"), [
                { address: ohio.address, port: ohio.port, peerAddress: mumbai.address, peerRange: mumbai.range },
            ]),
            securityGroup(routerNetns(E2E, "mumbai"), [
                { address: mumbai.address, port: mumbai.port, peerAddress: ohio.address, peerRange: ohio.range },
            ]),
        ];
        try {
            assert.strictEqual(await linkPasses(), false, "the peers' security groups drop what comes from the nodes' own addresses");
            await upBoth(nodeNetwork("agent"));
            await eventually("traffic through the tunnel both ways", linkPasses);
        } finally {
            undo.forEach((f) => f());
            await upBoth();
        }
    });

    it("on a node without the bridge and static plugins, fails the node agent's check and leaves the endpoint creating; shipped, the plugins are installed and the link works", async () => {
        const cniBin = nodeCniBinDir(nodes.ohio);
        const removed = ["bridge", "static"];
        try {
            for (const plugin of removed) fs.rmSync(path.join(cniBin, plugin));
            await kubectl(clusters.ohio, ["-n", NAMESPACE, "delete", "pod", "-l", `plumr/link=${LINK}`, "--wait=false"]);
            const stuck = await waitFor("the new endpoint pod to be stuck creating", 120_000, async () => {
                // The old pod stays terminating: tearing down its net1 needs the bridge plugin too.
                const current = (await endpointPods(ends.ohio)).find((p: any) => !p.metadata.deletionTimestamp);
                return current?.status?.phase === "Pending" ? current : undefined;
            });
            await waitFor("the node agent to fail its check", 120_000, async () => {
                const p = await agentPod("ohio");
                return !isReady(p) && p.status.containerStatuses[0].lastState?.terminated ? true : undefined;
            });
            const { status, reports } = verify("ohio");
            assert.strictEqual(status, 1);
            const checks = reports[0].checks;
            assert.strictEqual(checks.nodeAgent.ok, false);
            for (const plugin of removed)
                assert.match(
                    checks.nodeAgent.detail,
                    new RegExp(`CNI plugins: /var/lib/cni/bin has no ${plugin} plugin, which the attachment needs`),
                );
            assert.strictEqual(checks.pod.ok, false, `${stuck.metadata.name}: ${checks.pod.detail}`);

            await upBoth((t) => (t.binaries.cniPlugins = CNI_PLUGINS));
            for (const plugin of removed)
                assert.strictEqual(
                    sha256(fs.readFileSync(path.join(cniBin, plugin))),
                    sha256(fs.readFileSync(path.join(CNI_PLUGINS, plugin))),
                    `the node agent installed ${plugin}`,
                );
            assert.ok(fs.lstatSync(path.join(cniBin, "macvlan")).isSymbolicLink(), "a plugin the node has stays as it is");
            await eventually("traffic through the tunnel both ways", linkPasses);
        } finally {
            for (const plugin of removed) {
                fs.rmSync(path.join(cniBin, plugin), { force: true });
                fs.symlinkSync(path.join(CNI_PLUGINS, plugin), path.join(cniBin, plugin));
            }
            await upBoth();
        }
    });

    it("prints the node agent's failed check, naming the node, while pulumi up waits for it", async () => {
        const cniBin = nodeCniBinDir(nodes.mumbai);
        let output = "";
        const seen = () => output.includes(`node-agent: node ${nodes.mumbai.name}: CNI plugins: /var/lib/cni/bin has no bridge plugin`);
        try {
            fs.rmSync(path.join(cniBin, "bridge"));
            // A change that rolls the agent, so that up waits for it on every node.
            prepareLocalDeployment(
                E2E,
                withWorkload((t) => (t.sites.mumbai.nodeNetwork = "cluster")),
            );
            const up = upLocal(stacks.mumbai, E2E, { color: "never", onOutput: (text) => (output += text) });
            const reported = await waitFor(
                "pulumi up to print the failed check",
                120_000,
                async () => (seen() ? true : undefined),
                1000,
            ).catch(() => false);
            // Repaired, the agent passes on its next start and the up completes.
            fs.symlinkSync(path.join(CNI_PLUGINS, "bridge"), path.join(cniBin, "bridge"));
            assert.strictEqual((await up).summary.result, "succeeded");
            assert.ok(reported, `pulumi up printed no failed check of the node agent:\n${output}`);
        } finally {
            if (!fs.existsSync(path.join(cniBin, "bridge"))) fs.symlinkSync(path.join(CNI_PLUGINS, "bridge"), path.join(cniBin, "bridge"));
            await upBoth();
        }
    });

    it("leaves no pod of the project on the nodes after destroy", async () => {
        for (const name of ["mumbai", "ohio"]) await stacks[name].destroy({ color: "never" });
        for (const site of ["ohio", "mumbai"]) {
            await eventually(`no container left on ${nodes[site].name}`, async () => {
                const containers = nodeCtr(nodes[site], ["containers", "ls", "-q"]);
                return containers.trim() === "";
            });
            assert.deepStrictEqual((await endpointPods(ends[site])).length, 0);
        }
    });

    it("leaves nothing at all after npm run demo -- --down", async () => {
        execFileSync("npx", ["ts-node", "--transpile-only", "commands/demo.ts", "--down"], {
            cwd: path.join(__dirname, "..", ".."),
            env: { ...process.env, PLUMR_LOCAL_INSTANCE: E2E },
            stdio: "inherit",
            timeout: 10 * 60_000,
        });
        assert.deepStrictEqual(instanceLeftovers(E2E), { processes: [], namespaces: [], cgroups: false, mounts: [], links: [] });
        // Beyond what the instance names as its own: no mount of its state and no bridge or veth of it here.
        assert.doesNotMatch(fs.readFileSync("/proc/self/mountinfo", "utf8"), /\.cache\/e2e/);
        assert.doesNotMatch(execFileSync("ip", ["-o", "link"], { encoding: "utf8" }), /plk-1-|br-plumr|plumr-pods/);
    });
});
