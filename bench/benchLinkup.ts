// npm run bench:linkup: how fast a link carries traffic on the local clusters' real nodes.
//
//   from empty   `pulumi up` of a stack that deploys both sites, onto clusters where nothing of
//                the project runs: time from the start of the up to the first ping reply through
//                the tunnel (and to the end of the up); each run just after one with plumr
//                privileged (tunDevice: privileged), as it ran before its sidecar was unprivileged;
//   address      one end's address changed (alternately 10.20.1.200 and .201) and `pulumi up` again:
//                time from the start of the up until the tunnel passes traffic again, and how long
//                traffic stopped (the longest gap between two replies);
//   exporter     the link up: CPU and memory of each container of both endpoint pods over 60 s
//                (the kubelet's stats), and UDP at a fixed rate through the tunnel, with both ends'
//                metrics exporters probing and with them stopped, in turn: what the probes cost;
//   node rebooted
//                the node that hosts Ohio's endpoint stopped and started again under its name, with no
//                `pulumi up` (dev/local/nodeReplacement.ts): time from the stop to the first reply;
//   node replaced
//                the node that hosts Ohio's endpoint stopped for good, a new node started in its zone
//                (dev/local/nodeReplacement.ts), and `pulumi up` again: time from the stop to the first
//                reply through the tunnel, and of its parts (the new node in the pool, the up).
//
// The benchmark's Ohio workload pings Mumbai's tunnel address from the moment it starts, five times
// a second, with a timestamp per reply (ping -D); the benchmark follows its log from pod to pod.
// Results go to bench/linkup.json; medians, minimum and maximum are printed.
//
//   npm run bench:linkup
//   BENCH_REPETITIONS=1 npx ts-node --transpile-only bench/benchLinkup.ts
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { onInterrupt } from "../lib/interrupts";
import { median } from "./stats";
import { DeployedEnd, endpointPods, iperfUdp, readyPod, UdpLoss } from "../dev/local/linkProbe";
import { BIN, ClusterSpec, KubeApi, kubeconfigPath, startLocalClusters, stopLocalClusters } from "../dev/local/localClusters";
import { upLocal } from "../dev/local/localSlots";
import { localPulumi, prepareLocalDeployment } from "../dev/local/localStacks";
import { rebootNode, restoreNodes, startNewNode, stopNode } from "../dev/local/nodeReplacement";
import { sleep, waitFor } from "../lib/processes";
import { printTable } from "../lib/table";

const INSTANCE = "bench" as const;
const DEPLOYMENT = "bench/linkup";
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5);
const OUT = path.join(__dirname, "..", "bench", "linkup.json");
const ADDRESSES = ["10.20.1.200", "10.20.1.201"];
const log = (message: string) => console.log(`[linkup ${new Date().toISOString().slice(11, 19)}] ${message}`);

/**
 * The benchmark's Ohio workload pings Mumbai's tunnel address from the moment it starts, five
 * times a second, with a timestamp per reply (ping -D), and stops at once on SIGTERM: what a
 * workload sees of the link, with nothing of the measurement's own in the way (no exec).
 */
const PINGING_WORKLOAD = ["/bin/sh", "-c", "trap 'exit 0' TERM; ping -D -n -i 0.2 -W 1 10.4.0.2 & wait"];

/** The log followers running now: killed with the benchmark when it is interrupted. */
const followers = new Set<ChildProcess>();

/** Follows the logs of every Ohio endpoint pod's workload as pods come and go, and keeps every reply's time. */
class Probe {
    readonly replies: number[] = [];
    private stopped = false;
    private readonly followed = new Set<string>();
    private readonly streams: Promise<unknown>[] = [];
    private readonly done: Promise<void>;

    constructor(private readonly end: DeployedEnd) {
        this.done = this.run();
    }

    private async run(): Promise<void> {
        while (!this.stopped) {
            const pods = await endpointPods(this.end).catch(() => []);
            for (const pod of pods) {
                const name = pod.metadata.name;
                const workload = pod.status?.containerStatuses?.find((c: any) => c.name === "workload");
                const started = workload && (workload.state?.running || workload.state?.terminated);
                // A pod's container starts again after its node reboots: follow each container once.
                const container = `${name} ${workload?.containerID}`;
                if (!started || this.followed.has(container)) continue;
                this.followed.add(container);
                this.streams.push(this.follow(name));
            }
            await sleep(100);
        }
    }

    /** Reads a pod's workload log until the pod ends (or the probe stops). */
    private follow(pod: string): Promise<void> {
        return new Promise((resolve) => {
            const child = spawn(path.join(BIN, "kubectl"), [
                `--kubeconfig=${kubeconfigPath(this.end.cluster)}`,
                "-n",
                this.end.namespace,
                "logs",
                "-f",
                pod,
                "-c",
                "workload",
            ]);
            followers.add(child);
            let buffer = "";
            child.stdout.on("data", (chunk) => {
                buffer += chunk;
                const lines = buffer.split("\n");
                buffer = lines.pop()!;
                for (const line of lines) {
                    const reply = /^\[(\d+\.\d+)\] \d+ bytes from/.exec(line);
                    if (reply) this.replies.push(Number(reply[1]) * 1000);
                }
            });
            const timer = setInterval(() => this.stopped && child.kill(), 200);
            child.on("exit", () => {
                followers.delete(child);
                clearInterval(timer);
                resolve();
            });
        });
    }

    /** Waits for a reply after `since` (ms since the epoch). */
    async replyAfter(since: number, timeoutMs: number): Promise<number> {
        return waitFor("a ping reply through the tunnel", timeoutMs, async () => this.replies.find((t) => t > since), 50);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
        await Promise.all(this.streams);
    }
}

interface EmptyRun {
    firstPacketS: number;
    upS: number;
}
interface ChangeRun {
    trafficAgainS: number;
    stoppedS: number;
    upS: number;
}
interface RebootedRun {
    /** From the node's stop to the first reply through the tunnel. */
    linkDownS: number;
    /** From the node's stop until it is Ready again. */
    nodeBackS: number;
}
interface ReplacedRun {
    /** From the node's stop to the first reply through the tunnel. */
    trafficRestoredS: number;
    /** From the node's stop until its successor is Ready and in the pool. */
    newNodeS: number;
    /** The pulumi up that moves the endpoint onto it (its slots recorded, the underlay routed: upLocal). */
    upS: number;
}

/** How the plumr sidecars get their tun device: the default (unprivileged, the device mounted), or the privileged fallback. */
type TunDevice = "hostPath" | "privileged";

async function benchStack(clusters: ClusterSpec[], address: string, tunDevice: TunDevice = "hostPath"): Promise<Stack> {
    const deployment = prepareLocalDeployment(DEPLOYMENT, (t) => {
        t.links[0].ends[1].address = address;
        t.sites.ohio.workload.command = PINGING_WORKLOAD;
        for (const site of Object.values<any>(t.sites)) site.tunDevice = tunDevice;
    });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: "linkup", workDir: deployment.projectDir },
        { envVars: deployment.env, pulumiCommand: await localPulumi() },
    );
    await stack.setConfig("plumr:sites", { value: JSON.stringify(clusters.map((c) => c.name)) });
    for (const c of clusters) {
        await stack.setConfig(`plumr:access.${c.name}.kubeconfig`, { value: kubeconfigPath(c), secret: true }, true);
        await stack.setConfig(`plumr:access.${c.name}.context`, { value: c.name }, true);
    }
    return stack;
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

async function fromEmpty(clusters: ClusterSpec[], ohio: DeployedEnd, tunDevice: TunDevice = "hostPath"): Promise<EmptyRun> {
    const stack = await benchStack(clusters, ADDRESSES[0], tunDevice);
    await stack.destroy({ color: "never" });
    const probe = new Probe(ohio);
    try {
        const start = Date.now();
        const up = upLocal(stack, INSTANCE, { color: "never" }).then(() => Date.now());
        const first = await probe.replyAfter(start, 300_000);
        const upDone = await up;
        return { firstPacketS: seconds(first - start), upS: seconds(upDone - start) };
    } finally {
        await probe.stop();
    }
}

async function addressChange(clusters: ClusterSpec[], ohio: DeployedEnd, address: string): Promise<ChangeRun> {
    const probe = new Probe(ohio);
    try {
        await probe.replyAfter(Date.now(), 120_000);
        const stack = await benchStack(clusters, address);
        const start = Date.now();
        await upLocal(stack, INSTANCE, { color: "never" });
        const upDone = Date.now();
        // Traffic again: the first reply after the longest gap that began during the change.
        await probe.replyAfter(upDone, 300_000);
        await sleep(1000);
        const replies = probe.replies.filter((t) => t >= start - 1000);
        let gap = { from: start, to: start, length: 0 };
        for (let i = 1; i < replies.length; i++) {
            const length = replies[i] - replies[i - 1];
            if (length > gap.length) gap = { from: replies[i - 1], to: replies[i], length };
        }
        return { trafficAgainS: seconds(gap.to - start), stoppedS: seconds(gap.length), upS: seconds(upDone - start) };
    } finally {
        await probe.stop();
    }
}

/**
 * The node that hosts Ohio's endpoint stopped for good and replaced by a new node in its zone, then
 * `pulumi up`: the endpoint follows its slot onto the new node, with the same address.
 */
async function nodeReplaced(clusters: ClusterSpec[], ohio: DeployedEnd, address: string): Promise<ReplacedRun> {
    const probe = new Probe(ohio);
    try {
        await probe.replyAfter(Date.now(), 120_000);
        const stack = await benchStack(clusters, address);
        const node: string = (await stack.outputs()).sites.value.ohio.endpoints["ohio-mumbai"].node;
        const zone = (await new KubeApi(clusters[0]).get(`/api/v1/nodes/${node}`)).metadata.labels["topology.kubernetes.io/zone"];
        const start = Date.now();
        await stopNode(INSTANCE, "ohio", node);
        const stopped = Date.now();
        await startNewNode(INSTANCE, "ohio", zone);
        const joined = Date.now();
        await upLocal(stack, INSTANCE, { color: "never" });
        const upDone = Date.now();
        const first = await probe.replyAfter(stopped, 300_000);
        return { trafficRestoredS: seconds(first - start), newNodeS: seconds(joined - start), upS: seconds(upDone - joined) };
    } finally {
        await probe.stop();
    }
}

/**
 * The node that hosts Ohio's endpoint rebooted: everything on it stops and it starts again under the
 * same name, with no pulumi up. The endpoint's pod waits for its node and starts again there.
 */
async function nodeRebooted(clusters: ClusterSpec[], ohio: DeployedEnd, address: string): Promise<RebootedRun> {
    const probe = new Probe(ohio);
    try {
        await probe.replyAfter(Date.now(), 120_000);
        const stack = await benchStack(clusters, address);
        const node: string = (await stack.outputs()).sites.value.ohio.endpoints["ohio-mumbai"].node;
        const start = Date.now();
        await rebootNode(INSTANCE, "ohio", node);
        const back = Date.now();
        const first = await probe.replyAfter(start, 300_000);
        return { linkDownS: seconds(first - start), nodeBackS: seconds(back - start) };
    } finally {
        await probe.stop();
    }
}

/** The metrics exporter's share: CPU and memory of each container of an end's pod, over a window of probe rounds. */
interface ContainerCost {
    site: string;
    container: string;
    /** CPU over the window, in thousandths of a core. */
    cpuMillicores: number;
    /** Working set at the window's end, MiB. */
    memoryMiB: number;
}

/** What the kubelet says an end's pod's containers have used: CPU time (ns) and working set (bytes), by container. */
async function containerUsage(end: DeployedEnd): Promise<Map<string, { cpuNs: number; memoryBytes: number }>> {
    const pod = await waitFor("the end's Ready endpoint pod", 120_000, () => readyPod(end));
    const summary = await new KubeApi(end.cluster).get(`/api/v1/nodes/${pod.spec.nodeName}/proxy/stats/summary`);
    const stats = (summary.pods as any[]).find((p) => p.podRef.name === pod.metadata.name);
    if (!stats) throw new Error(`the kubelet of ${pod.spec.nodeName} has no stats of ${pod.metadata.name} yet`);
    return new Map(
        (stats.containers as any[]).map((c) => [c.name, { cpuNs: c.cpu.usageCoreNanoSeconds, memoryBytes: c.memory.workingSetBytes }]),
    );
}

/** CPU and memory of every container of both ends' pods over `windowS` seconds (several probe rounds). */
async function containerCosts(ends: Record<string, DeployedEnd>, windowS: number): Promise<ContainerCost[]> {
    const sites = Object.keys(ends);
    const before = await Promise.all(sites.map((site) => containerUsage(ends[site])));
    await sleep(windowS * 1000);
    const after = await Promise.all(sites.map((site) => containerUsage(ends[site])));
    return sites.flatMap((site, i) =>
        [...after[i]].map(([container, usage]) => ({
            site,
            container,
            cpuMillicores: Number(((usage.cpuNs - (before[i].get(container)?.cpuNs ?? usage.cpuNs)) / 1e6 / windowS).toFixed(2)),
            memoryMiB: Number((usage.memoryBytes / 2 ** 20).toFixed(2)),
        })),
    );
}

/** The processes of one of a pod's containers: the local nodes run them on this machine, in a cgroup named by the container's id. */
function containerProcesses(containerId: string): number[] {
    const id = containerId.replace(/^[a-z]+:\/\//, "");
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            if (fs.readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(id)) pids.push(Number(entry));
        } catch {
            // ended meanwhile
        }
    }
    return pids;
}

/** The processes of the metrics container of each end's pod. */
async function exporterProcesses(ends: DeployedEnd[]): Promise<number[]> {
    const pids: number[] = [];
    for (const end of ends) {
        const pod = await waitFor("the end's Ready endpoint pod", 120_000, () => readyPod(end));
        const id = pod.status.containerStatuses.find((c: any) => c.name === "metrics").containerID;
        const found = containerProcesses(id);
        if (found.length === 0) throw new Error(`no process of the metrics container ${id} on this machine`);
        pids.push(...found);
    }
    return pids;
}

/** Sends `signal` to each of `pids` that is still there. */
function signalAll(pids: number[], signal: "SIGSTOP" | "SIGCONT"): void {
    for (const pid of pids) {
        try {
            process.kill(pid, signal);
        } catch {
            // ended meanwhile
        }
    }
}

/** The window over which the containers' CPU is taken: six of the exporter's probe rounds. */
const COST_WINDOW_S = 60;
/** How long each UDP run lasts: at least one of the exporter's probe rounds (every 10 s) falls in it. */
const UDP_SECONDS = 12;
/** The UDP stream's rate: well under what the tunnel carries here, so that what is lost is not the tunnel's limit. */
const UDP_MBITS = 50;

/**
 * Whether the exporter's probes cost a stream through the tunnel anything: UDP at a fixed rate from
 * Ohio's workload to Mumbai's, with the exporters probing, then with both exporters paused, in turn.
 */
async function probeLoss(ohio: DeployedEnd, mumbai: DeployedEnd): Promise<{ probing: UdpLoss; paused: UdpLoss }> {
    const [ohioPod, mumbaiPod] = await Promise.all(
        [ohio, mumbai].map((end) => waitFor("a Ready endpoint pod", 120_000, () => readyPod(end))),
    );
    const udp = () => iperfUdp(ohio, ohioPod.metadata.name, mumbai, mumbaiPod.metadata.name, UDP_SECONDS, UDP_MBITS);
    const probing = await udp();
    // Every process of both metrics containers stopped: no probe goes through the tunnel during the second stream.
    const pids = await exporterProcesses([ohio, mumbai]);
    const unregister = onInterrupt(() => signalAll(pids, "SIGCONT"));
    signalAll(pids, "SIGSTOP");
    try {
        return { probing, paused: await udp() };
    } finally {
        signalAll(pids, "SIGCONT");
        unregister();
    }
}

/** Runs measurement `what` REPETITIONS times (run i of 1 to REPETITIONS), saying how each went. */
async function repeat<T>(what: string, run: (i: number) => Promise<T>, describe: (result: T) => string): Promise<T[]> {
    const results: T[] = [];
    for (let i = 1; i <= REPETITIONS; i++) {
        results.push(await run(i));
        log(`${what} ${i}/${REPETITIONS}: ${describe(results.at(-1)!)}`);
    }
    return results;
}

const summary = (values: number[]) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const cell = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

async function main(): Promise<void> {
    if (!Number.isInteger(REPETITIONS) || REPETITIONS < 1)
        throw new Error(`BENCH_REPETITIONS must be 1 or more, got ${process.env.BENCH_REPETITIONS}`);
    log("starting the local clusters (instance bench)");
    const { clusters, started } = await startLocalClusters(INSTANCE);
    const unregister = onInterrupt(() => {
        for (const child of followers) child.kill("SIGKILL");
        if (started) stopLocalClusters(INSTANCE);
    });
    try {
        const ohio: DeployedEnd = {
            cluster: clusters[0],
            namespace: "plumr",
            link: "ohio-mumbai",
            tunnelIp: "10.4.0.1",
            address: "10.10.1.200",
        };
        // From empty, in turn with plumr privileged (as it ran before its sidecar was unprivileged, and as
        // the site setting tunDevice: privileged still runs it) and as it runs by default, so that the two
        // are measured on the same machine at the same time; the default last, for what follows.
        const privileged: EmptyRun[] = [];
        const empty = await repeat(
            "from empty",
            async () => {
                privileged.push(await fromEmpty(clusters, ohio, "privileged"));
                return fromEmpty(clusters, ohio);
            },
            (r) =>
                `first packet after ${r.firstPacketS} s, up done after ${r.upS} s ` +
                `(plumr privileged: ${privileged.at(-1)!.firstPacketS} s, ${privileged.at(-1)!.upS} s)`,
        );
        const changes = await repeat(
            "address change",
            (i) => addressChange(clusters, ohio, ADDRESSES[i % 2]),
            (r) => `traffic again after ${r.trafficAgainS} s, stopped for ${r.stoppedS} s, up ${r.upS} s`,
        );
        const mumbai: DeployedEnd = {
            cluster: clusters[1],
            namespace: "plumr",
            link: "ohio-mumbai",
            tunnelIp: "10.4.0.2",
            address: ADDRESSES[REPETITIONS % 2],
        };
        log(`the metrics exporter's cost: each container's CPU and memory over ${COST_WINDOW_S} s`);
        const costs = await containerCosts({ ohio, mumbai }, COST_WINDOW_S);
        for (const c of costs) log(`  ${c.site} ${c.container}: ${c.cpuMillicores} millicores, ${c.memoryMiB} MiB`);
        const losses = await repeat(
            `UDP at ${UDP_MBITS} Mbit/s through the tunnel for ${UDP_SECONDS} s`,
            () => probeLoss(ohio, mumbai),
            (r) =>
                `lost ${r.probing.lostPercent.toFixed(3)}% with the exporters probing, ${r.paused.lostPercent.toFixed(3)}% with them paused`,
        );
        const rebooted = await repeat(
            "node rebooted",
            () => nodeRebooted(clusters, ohio, ADDRESSES[REPETITIONS % 2]),
            (r) => `traffic again after ${r.linkDownS} s (node Ready again after ${r.nodeBackS} s)`,
        );
        const replaced = await repeat(
            "node replaced",
            () => nodeReplaced(clusters, ohio, ADDRESSES[REPETITIONS % 2]),
            (r) => `traffic restored after ${r.trafficRestoredS} s (new node in the pool after ${r.newNodeS} s, up ${r.upS} s)`,
        );
        await (await benchStack(clusters, ADDRESSES[0])).destroy({ color: "never" });
        await restoreNodes(INSTANCE);

        const report = {
            what: "time until a link passes traffic on the local clusters' real nodes, with one stack deploying both sites",
            date: new Date().toISOString(),
            machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
            repetitions: REPETITIONS,
            how:
                "Ohio's workload runs ping -D to Mumbai's tunnel address every 0.2 s from its start, its log followed from pod to pod; " +
                "times from the start of pulumi up; traffic stopped = the longest gap between two replies; " +
                "node rebooted: times from the stop of the node that hosts Ohio's endpoint, which starts again at once; " +
                "node replaced: times from the stop of the node that hosts Ohio's endpoint, its successor started in its zone, then pulumi up",
            fromEmpty: { runs: empty, firstPacketS: summary(empty.map((r) => r.firstPacketS)), upS: summary(empty.map((r) => r.upS)) },
            fromEmptyPrivileged: {
                how: "from empty as above, each run just before the default one, with every site's tunDevice: privileged (plumr as privileged as before its sidecar had only NET_ADMIN and the tun device)",
                runs: privileged,
                firstPacketS: summary(privileged.map((r) => r.firstPacketS)),
                upS: summary(privileged.map((r) => r.upS)),
            },
            addressChange: {
                runs: changes,
                trafficAgainS: summary(changes.map((r) => r.trafficAgainS)),
                stoppedS: summary(changes.map((r) => r.stoppedS)),
                upS: summary(changes.map((r) => r.upS)),
            },
            exporter: {
                how: `each container's CPU time and working set from its node's kubelet (stats/summary), ${COST_WINDOW_S} s apart, the link up`,
                windowS: COST_WINDOW_S,
                containers: costs,
            },
            probeLoss: {
                how: `iperf3 -u at ${UDP_MBITS} Mbit/s for ${UDP_SECONDS} s from Ohio's workload to Mumbai's through the tunnel, with both ends' exporters probing (every 10 s), then with every process of both metrics containers stopped`,
                runs: losses,
                probingLostPercent: summary(losses.map((r) => r.probing.lostPercent)),
                pausedLostPercent: summary(losses.map((r) => r.paused.lostPercent)),
            },
            nodeRebooted: {
                runs: rebooted,
                linkDownS: summary(rebooted.map((r) => r.linkDownS)),
                nodeBackS: summary(rebooted.map((r) => r.nodeBackS)),
            },
            nodeReplaced: {
                runs: replaced,
                trafficRestoredS: summary(replaced.map((r) => r.trafficRestoredS)),
                newNodeS: summary(replaced.map((r) => r.newNodeS)),
                upS: summary(replaced.map((r) => r.upS)),
            },
        };
        fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
        console.log(`\nmedian (min–max) over ${REPETITIONS} runs:\n`);
        printTable([
            ["measurement", "time"],
            ["from empty clusters: first packet through the tunnel", cell(report.fromEmpty.firstPacketS)],
            ["from empty clusters: pulumi up done", cell(report.fromEmpty.upS)],
            ["from empty, plumr privileged: first packet", cell(report.fromEmptyPrivileged.firstPacketS)],
            ["from empty, plumr privileged: pulumi up done", cell(report.fromEmptyPrivileged.upS)],
            ["address changed: traffic again", cell(report.addressChange.trafficAgainS)],
            ["address changed: traffic stopped for", cell(report.addressChange.stoppedS)],
            ["address changed: pulumi up done", cell(report.addressChange.upS)],
            ["node rebooted: stop to traffic again", cell(report.nodeRebooted.linkDownS)],
            ["node rebooted: stop to the node Ready again", cell(report.nodeRebooted.nodeBackS)],
            ["node replaced: stop to traffic restored", cell(report.nodeReplaced.trafficRestoredS)],
            ["node replaced: stop to the new node in the pool", cell(report.nodeReplaced.newNodeS)],
            ["node replaced: pulumi up", cell(report.nodeReplaced.upS)],
        ]);
        const percent = (s: { median: number; min: number; max: number }) =>
            `${s.median.toFixed(3)}% (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
        console.log(`\nthe metrics exporter, per endpoint pod, over ${COST_WINDOW_S} s:\n`);
        printTable([
            ["site", "container", "CPU, millicores", "memory, MiB"],
            ...costs.map((c) => [c.site, c.container, c.cpuMillicores.toFixed(2), c.memoryMiB.toFixed(2)]),
        ]);
        console.log(`\nUDP at ${UDP_MBITS} Mbit/s through the tunnel, lost, median (min–max) over ${REPETITIONS} runs:\n`);
        printTable([
            ["exporters", "lost"],
            ["probing", percent(report.probeLoss.probingLostPercent)],
            ["paused", percent(report.probeLoss.pausedLostPercent)],
        ]);
        console.log(`\nwritten to ${path.relative(process.cwd(), OUT)}`);
    } finally {
        unregister();
        if (started) stopLocalClusters(INSTANCE);
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
