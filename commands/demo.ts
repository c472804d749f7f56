// plumr demo (npm run demo): the shipped topology deployed onto two local clusters whose pools' nodes are real
// (kubelet, containerd, runc, Multus), one stack per site, and the link proven by traffic. It
// checks the machine first, then builds what it needs (the Debian packages, the toolchain, the
// images; each kept for the next run), each step timed. `plumr demo --help` says more.
import * as pulumi from "@pulumi/pulumi/automation";
import { constants } from "os";
import * as path from "path";
import {
    ClusterSpec,
    Instance,
    instanceLeftovers,
    KubeApi,
    localClusterSpecs,
    startLocalClusters,
    stopLocalClusters,
} from "../dev/local/localClusters";
import { DeployedEnd, iperf, ping, readyPod } from "../dev/local/linkProbe";
import { upLocal } from "../dev/local/localSlots";
import {
    LOCAL_ENVIRONMENTS,
    LocalDeployment,
    localPulumi,
    prepareLocalDeployment,
    prepareLocalEnvironments,
    siteStack,
} from "../dev/local/localStacks";
import { siteStack as stackName } from "../planner/environments/environments";
import { stages } from "../planner/environments/rollout";
import { parseTopology } from "../planner/topology/schema";
import { environmentTopology } from "../lib/topologyFile";
import { BIN } from "../dev/local/nodeConfig";
import { waitFor } from "../lib/processes";
import { printTable } from "../lib/table";
import { printReports, verifyStack } from "./verify";
import { readMachine, unmetNeeds } from "../dev/setup/machine";
import { Steps, Stopped } from "../dev/setup/steps";
import { Command, Parsed, runCommand, UsageError } from "../lib/commandLine";
import { describeStop, StopSignal } from "../lib/interrupts";

const ROOT = path.join(__dirname, "..");

const USAGE = `usage: plumr demo [--environments | --down]
       npm run demo [-- --environments | --down | --help]

Deploys the shipped topology onto two local clusters on this machine, whose pools' nodes are real
(kubelet, containerd, runc, Multus), one stack per site; sends traffic through the tunnel both ways
(ping, iperf3) and runs plumr verify on each stack.

  (no option)      the shipped topology: Ohio and Mumbai
  --environments   the environments example instead: staging, then production, side by side
  --down           destroy every demo stack, stop the clusters and remove everything they made
  --help, -h       this text

Needs: Linux, root, Debian's apt-get, Go 1.26 or newer at /usr/local/go, a C compiler, 20 GiB free
and 2 cores; it checks them first. A first run builds the toolchain from Go modules: about 45
minutes on a 2-core machine. Later runs reuse it: one to two minutes. Ctrl-C or SIGTERM stops it
cleanly (a running pulumi up finishes its current steps); running it again resumes.`;

/** The demo's steps, timed: made when the demo runs (it reads the last run's times). */
let steps: Steps;

// The end-to-end tests run the same commands on clusters of their own.
const INSTANCE: Instance = (process.env.PLUMR_LOCAL_INSTANCE as Instance | undefined) ?? "demo";
const say = (message: string) => steps.start(message);

// Ctrl-C, SIGTERM or SIGHUP cancels a running pulumi up or destroy cleanly (the CLI finishes its current
// steps and releases the stack), rather than leaving it running on its own. The clusters stay up
// for the next run; --down removes them. (While the clusters start, an interruption stops what
// was started: see startLocalClusters.)
const cancel = new AbortController();
let stoppedBy: StopSignal | undefined;

function cancelOnSignals(): void {
    // While the clusters start, a signal stops what was started (startLocalClusters) and the demo with it.
    describeStop(
        (signal) =>
            `${signal}: stopped while ${steps.running ?? "starting the local clusters"}; what it started is stopped: run npm run demo again to resume.`,
    );
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(signal, () => {
            stoppedBy ??= signal;
            cancel.abort();
        });
    }
}

function changes(summary: pulumi.UpdateSummary): string {
    // Reading the peer's StackReference is not a change.
    const counts = Object.entries(summary.resourceChanges ?? {}).filter(([op]) => op !== "same" && op !== "read");
    return counts.length === 0 ? "no changes" : counts.map(([op, n]) => `${n} ${op}`).join(", ");
}

/**
 * Which of the stacks `names` hold resources. Both kinds of demo keep their stacks in one backend,
 * under one project name, so the names tell them apart.
 */
async function deployed(deployment: LocalDeployment, names: string[]): Promise<string[]> {
    const workspace = await pulumi.LocalWorkspace.create({
        workDir: deployment.projectDir,
        envVars: deployment.env,
        pulumiCommand: await localPulumi(),
    });
    return (await workspace.listStacks()).filter((s) => (s.resourceCount ?? 0) > 0 && names.includes(s.name)).map((s) => s.name);
}

/** The demo's stacks: the shipped topology's (`environment` undefined), or one environment's. */
const demoStacks = (clusters: ClusterSpec[], environments: (string | undefined)[]) =>
    environments.flatMap((env) => clusters.map((c) => stackName(env, c.name)));

/**
 * Refuses to deploy while the other kind of demo is deployed: the shipped topology's pool is every
 * pool node, the environments' are two of them, and both would keep a node agent on the same nodes.
 */
async function refuseAlongside(deployment: LocalDeployment, others: string[], flag: string): Promise<void> {
    const stacks = await deployed(deployment, others);
    if (stacks.length > 0)
        throw new Error(
            `the stacks ${stacks.join(", ")} are deployed on these clusters, on the same nodes: run npm run demo -- --down first, then npm run demo${flag}`,
        );
}

async function up(): Promise<void> {
    say("starting the local clusters");
    const { clusters } = await startLocalClusters(INSTANCE);
    const deployment = prepareLocalDeployment(INSTANCE);
    await refuseAlongside(deployment, demoStacks(clusters, [...LOCAL_ENVIRONMENTS]), "");
    // Every stack exists before the first up, so that each StackReference finds its peer.
    const stacks = [];
    for (const cluster of clusters) stacks.push(await siteStack(deployment, cluster));
    await deployAndProve(clusters, stacks, stacks);
}

/**
 * The environments example on the same clusters: each environment's stacks brought up in the
 * order the workflow gives them, its links proven and its stacks verified, staging first. Then
 * each environment's pods are listed: their own namespace, their own nodes.
 */
async function upEnvironments(): Promise<void> {
    say("starting the local clusters");
    const { clusters } = await startLocalClusters(INSTANCE);
    const deployment = await prepareLocalEnvironments(INSTANCE);
    await refuseAlongside(deployment, demoStacks(clusters, [undefined]), " -- --environments");
    for (const env of LOCAL_ENVIRONMENTS) {
        say(`environment ${env}`);
        const stacks: Record<string, pulumi.Stack> = {};
        for (const cluster of clusters) stacks[`${env}-${cluster.name}`] = await siteStack(deployment, cluster, env);
        const topology = parseTopology(environmentTopology(env, path.join(deployment.projectDir, "Pulumi.yaml")));
        const order = stages([{ name: env, topology }])[0].order.map((name) => stacks[name]);
        await deployAndProve(clusters, Object.values(stacks), order);
    }
    say("each environment in its own namespace, on its own nodes");
    const rows = [["environment", "site", "namespace", "pod", "node"]];
    for (const env of LOCAL_ENVIRONMENTS) {
        for (const cluster of clusters) {
            const pods = (await new KubeApi(cluster).get(`/api/v1/namespaces/plumr-${env}/pods`)).items as any[];
            for (const pod of pods) rows.push([env, cluster.name, `plumr-${env}`, pod.metadata.name, pod.spec.nodeName ?? "-"]);
        }
    }
    printTable(rows);
}

/**
 * pulumi up on each stack of `order` (its slots recorded, and the underlay routed to them: upLocal), then traffic
 * through every link, then npm run verify for each of `stacks`.
 */
async function deployAndProve(clusters: ClusterSpec[], stacks: pulumi.Stack[], order: pulumi.Stack[]): Promise<void> {
    const outputs: Record<string, pulumi.OutputMap> = {};
    for (const stack of order) {
        say(`pulumi up -s ${stack.name}`);
        const result = await upLocal(stack, INSTANCE, {
            onOutput: (line) => process.stdout.write(line),
            color: "never",
            signal: cancel.signal,
        });
        console.log(`${stack.name}: ${changes(result.summary)}`);
        for (const site of Object.keys(result.outputs.sites?.value ?? {})) outputs[site] = result.outputs;
    }
    await proveLinks(clusters, outputs);
    // Let the metrics containers print once more, with this traffic counted.
    await new Promise((r) => setTimeout(r, 5_500));
    let failing = 0;
    for (const stack of stacks) {
        say(`npm run verify -- ${stack.name}`);
        const reports = await verifyStack(stack, path.join(BIN, "kubectl"));
        printReports(reports);
        failing += reports.filter((r) => !r.ok).length;
    }
    console.log("\n(plumr and shm_printer are stand-ins here: see dev/stand-ins/README.md. The pods, probes and traffic are real.)");
    if (failing > 0) throw new Error(`${failing} link end(s) failed npm run verify: see the tables above`);
}

/** Every link's two ends, as the stacks published them. */
function deployedLinks(clusters: ReturnType<typeof localClusterSpecs>, outputs: Record<string, pulumi.OutputMap>) {
    const links = Object.values(outputs)[0]?.links?.value ?? {};
    return Object.entries<any>(links).map(([name, link]) => ({
        name,
        ends: link.ends.map((end: any): DeployedEnd => ({
            cluster: clusters.find((c) => c.name === end.site)!,
            namespace: outputs[end.site]?.sites?.value?.[end.site]?.namespace ?? "plumr",
            link: name,
            ...(end.endpoint !== undefined && { endpoint: end.endpoint }),
            tunnelIp: end.tunnelIp,
            address: end.address,
        })) as [DeployedEnd, DeployedEnd],
    }));
}

async function proveLinks(clusters: ReturnType<typeof localClusterSpecs>, outputs: Record<string, pulumi.OutputMap>): Promise<void> {
    const rows: string[][] = [["link", "end", "pod", "node", "underlay", "tunnel", "ping the other end", "iperf3 to the other end"]];
    let failed = 0;
    for (const link of deployedLinks(clusters, outputs)) {
        say(`link ${link.name}: traffic through the tunnel, from each workload container`);
        const endPods = [];
        for (const end of link.ends)
            endPods.push(await waitFor(`a Ready endpoint pod of ${link.name} in ${end.cluster.name}`, 120_000, () => readyPod(end)));
        for (const [i, end] of link.ends.entries()) {
            const other = link.ends[1 - i];
            const pod = endPods[i];
            const result = await ping(end, pod.metadata.name, other.tunnelIp, 5);
            const throughput = await iperf(end, pod.metadata.name, other, endPods[1 - i].metadata.name).then(
                (mbps) => `${mbps.toFixed(0)} Mbit/s`,
                (err) => `failed: ${err instanceof Error ? err.message.split("\n")[0] : err}`,
            );
            if (result.received === 0 || throughput.startsWith("failed")) failed++;
            console.log(`${end.cluster.name} -> ${other.tunnelIp}: ${result.received}/${result.sent} replies, ${throughput}`);
            rows.push([
                link.name,
                end.cluster.name,
                pod.metadata.name,
                pod.spec.nodeName,
                end.address,
                end.tunnelIp,
                result.received > 0
                    ? `${result.received}/${result.sent}, rtt ${result.rttMs?.toFixed(3)} ms`
                    : `no reply (0/${result.sent})`,
                throughput,
            ]);
        }
    }
    say("links");
    printTable(rows);
    if (failed > 0) throw new Error(`${failed} direction(s) of the links passed no traffic: see the table above`);
}

async function tearDown(): Promise<void> {
    const { clusters } = await startLocalClusters(INSTANCE);
    const deployments = [
        { deployment: await prepareLocalEnvironments(INSTANCE), environments: [...LOCAL_ENVIRONMENTS].reverse() as (string | undefined)[] },
        { deployment: prepareLocalDeployment(INSTANCE), environments: [undefined] },
    ];
    for (const { deployment, environments } of deployments) {
        const existing = await deployed(deployment, demoStacks(clusters, environments));
        for (const env of environments) {
            for (const cluster of [...clusters].reverse()) {
                if (!existing.includes(stackName(env, cluster.name))) continue;
                const stack = await siteStack(deployment, cluster, env);
                say(`pulumi destroy -s ${stack.name}`);
                await stack.destroy({ onOutput: (line) => process.stdout.write(line), color: "never", signal: cancel.signal });
            }
        }
    }
    say("stopping the local clusters");
    stopLocalClusters(INSTANCE, true);
    const left = instanceLeftovers(INSTANCE);
    if (Object.values(left).some((v) => v === true || (Array.isArray(v) && v.length > 0)))
        throw new Error(`the demo left something behind: ${JSON.stringify(left)}`);
    console.log("nothing of the demo is left: no process, network namespace, cgroup, mount or veth");
}

/** Checks the machine, then builds or finds what the demo needs, each a timed step. */
async function setUp(): Promise<void> {
    const unmet = unmetNeeds(readMachine(ROOT));
    if (unmet.length > 0) {
        console.error(`npm run demo cannot run on this machine (${unmet.length} need${unmet.length > 1 ? "s" : ""} not met):`);
        for (const u of unmet) console.error(`  - ${u.need}: found ${u.found}\n    fix: ${u.fix}`);
        process.exit(1);
    }
    await steps.run("installing the Debian packages", "sh", ["dev/setup/ensure-system-packages.sh"], ROOT);
    await steps.run("building the toolchain", "bash", ["dev/setup/toolchain.sh"], ROOT);
    await steps.run("building the nodes' images", "bash", ["dev/setup/images.sh"], ROOT);
}

async function demo(parsed: Parsed): Promise<number> {
    const { down, environments } = parsed.values;
    if (down && environments) throw new UsageError("--down and --environments do not go together");
    steps = new Steps(path.join(ROOT, ".cache", "step-times.json"));
    cancelOnSignals();
    try {
        await setUp();
        if (down) await tearDown();
        else if (environments) await upEnvironments();
        else await up();
        steps.summary();
        return 0;
    } catch (err) {
        return failed(err);
    }
}

/** How the demo ends when a step fails or a signal stops it: its exit code, said in one line. */
function failed(err: unknown): number {
    if (err instanceof Stopped) {
        console.error(`\n${err.message}; what was built is kept: run npm run demo again to resume.`);
        return 128 + (constants.signals[err.signal as StopSignal] ?? constants.signals.SIGTERM);
    }
    if (stoppedBy) {
        // pulumi was cancelled: it finished its current steps and released the stack.
        console.error(
            `\n${stoppedBy}: stopped while ${steps.running ?? "running"}; the clusters stay up: run npm run demo again to resume, or npm run demo -- --down to remove everything.`,
        );
        return 128 + constants.signals[stoppedBy];
    }
    steps.summary();
    console.error(`\ndemo failed: ${err instanceof Error ? err.message : err}`);
    return 1;
}

export const command: Command = {
    line: { name: "demo", usage: USAGE, options: { down: { type: "boolean" }, environments: { type: "boolean" } } },
    run: demo,
    // stopped: undefined, the demo stops on signals itself (above, and dev/setup/steps.ts).
};

if (require.main === module) void runCommand(command, process.argv.slice(2));
