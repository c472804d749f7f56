// npm run bench:linkup: how fast a link carries traffic on the local clusters' real nodes.
//
//   from empty   `pulumi up` of a stack that deploys both sites, onto clusters where nothing of
//                the project runs: time from the start of the up to the first ping reply through
//                the tunnel (and to the end of the up);
//   address      one end's address changed (alternately 10.20.1.200 and .201) and `pulumi up` again:
//                time from the start of the up until the tunnel passes traffic again, and how long
//                traffic stopped (the longest gap between two replies);
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
import { DeployedEnd, endpointPods } from "../dev/local/linkProbe";
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

async function benchStack(clusters: ClusterSpec[], address: string): Promise<Stack> {
    const deployment = prepareLocalDeployment(DEPLOYMENT, (t) => {
        t.links[0].ends[1].address = address;
        t.sites.ohio.workload.command = PINGING_WORKLOAD;
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

async function fromEmpty(clusters: ClusterSpec[], ohio: DeployedEnd): Promise<EmptyRun> {
    const stack = await benchStack(clusters, ADDRESSES[0]);
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
        const empty = await repeat(
            "from empty",
            () => fromEmpty(clusters, ohio),
            (r) => `first packet after ${r.firstPacketS} s, up done after ${r.upS} s`,
        );
        const changes = await repeat(
            "address change",
            (i) => addressChange(clusters, ohio, ADDRESSES[i % 2]),
            (r) => `traffic again after ${r.trafficAgainS} s, stopped for ${r.stoppedS} s, up ${r.upS} s`,
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
            addressChange: {
                runs: changes,
                trafficAgainS: summary(changes.map((r) => r.trafficAgainS)),
                stoppedS: summary(changes.map((r) => r.stoppedS)),
                upS: summary(changes.map((r) => r.upS)),
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
            ["address changed: traffic again", cell(report.addressChange.trafficAgainS)],
            ["address changed: traffic stopped for", cell(report.addressChange.stoppedS)],
            ["address changed: pulumi up done", cell(report.addressChange.upS)],
            ["node rebooted: stop to traffic again", cell(report.nodeRebooted.linkDownS)],
            ["node rebooted: stop to the node Ready again", cell(report.nodeRebooted.nodeBackS)],
            ["node replaced: stop to traffic restored", cell(report.nodeReplaced.trafficRestoredS)],
            ["node replaced: stop to the new node in the pool", cell(report.nodeReplaced.newNodeS)],
            ["node replaced: pulumi up", cell(report.nodeReplaced.upS)],
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
