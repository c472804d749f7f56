// plumr verify (npm run verify; `plumr verify --help` shows its usage).
//
// Checks every link end a deployed stack runs, the way a person would with kubectl: the endpoint
// pod and its containers, the node agent on the pod's node, plumr's tun device, a ping from the
// workload container to the other end's tunnel address, and the end's metrics as Prometheus scrapes
// them (through the API server's pod proxy).
// It reads the stack's outputs and its own access (plumr:access) through the Pulumi CLI, and runs
// the kubectl on PATH. Prints one table (or JSON with --json); exits 1 when any end fails a check.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EndFacts, publishedSiteSchema } from "../planner/published";
import { kubeconfigFile } from "../program/clusterReader";
import { parsePing } from "../lib/ping";
import { linkMetrics, LinkMetrics, METRICS_PORT, metricsProxyPath, parseMetrics, PROBE_INTERVAL_SECONDS } from "../planner/cluster/metrics";
import { sleep } from "../lib/processes";
import { Command, Parsed, runCommand } from "../lib/commandLine";
import { onInterrupt } from "../lib/interrupts";
import { STACK_ARGS, STACK_OPTIONS, stackArgs } from "../lib/stackArgs";
import { printTable } from "../lib/table";

/** How one check of one end went: `ok`, and what was seen (or what is wrong). */
export interface Check {
    ok: boolean;
    detail: string;
}

/** What verify found for one link end. */
export interface EndReport {
    link: string;
    site: string;
    node: string;
    pod?: string;
    checks: {
        pod: Check;
        containers: Check;
        nodeAgent: Check;
        tunnel: Check;
        ping: Check & { rttMs?: number };
        /** The end's metrics, as Prometheus scrapes them. */
        metrics: Check & { values?: LinkMetrics };
    };
    ok: boolean;
}

/** How to run kubectl against one site's cluster. */
interface Cluster {
    site: string;
    /** The kubectl to run. */
    kubectl: string;
    args: string[];
}

/** Runs kubectl; never rejects: a failure is in `code` and `stderr`. */
function kubectl(cluster: Cluster, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            cluster.kubectl,
            [...cluster.args, ...args],
            { timeout: timeoutMs, encoding: "utf8", maxBuffer: 16 << 20 },
            (err, stdout, stderr) =>
                resolve({
                    code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
                    stdout,
                    stderr: (stderr || err?.message || "").trim(),
                }),
        );
    });
}

const failed = (detail: string): Check => ({ ok: false, detail });
const passed = (detail: string): Check => ({ ok: true, detail });
const skipped: Check = { ok: false, detail: "not checked: no running pod" };

/** The label that selects an end's pods: its endpoint's, or its link's for an end written in a link. */
const podSelector = (link: string, end: EndFacts) => (end.endpoint !== undefined ? `plumr/endpoint=${end.endpoint}` : `plumr/link=${link}`);

/** The end's newest endpoint pod that is not being deleted. */
async function endpointPod(cluster: Cluster, namespace: string, selector: string): Promise<{ pod?: any; error?: string }> {
    const result = await kubectl(cluster, ["-n", namespace, "get", "pods", "-l", selector, "-o", "json"]);
    if (result.code !== 0) return { error: `kubectl get pods failed: ${result.stderr}` };
    const pods = (JSON.parse(result.stdout).items as any[])
        .filter((p) => !p.metadata.deletionTimestamp)
        .sort((a, b) => b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp));
    return { pod: pods[0] };
}

/** Whether the pod's containers are ready, and how often each restarted. */
function containerCheck(pod: any): Check {
    // Native sidecars are init containers that keep running (restartPolicy Always); other init containers are done by now.
    const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c: any) => c.restartPolicy === "Always").map((c: any) => c.name));
    const running: any[] = [
        ...(pod.status?.initContainerStatuses ?? []).filter((s: any) => sidecars.has(s.name)),
        ...(pod.status?.containerStatuses ?? []),
    ];
    const notReady = running.filter((s) => !s.ready);
    const restarts = running.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
    const counts = `${running.length - notReady.length}/${running.length} ready, ${restarts} restart${restarts === 1 ? "" : "s"}`;
    if (running.length === 0) return failed("no container status yet");
    if (notReady.length > 0)
        return failed(`${counts}; not ready: ${notReady.map((s) => `${s.name} (${s.restartCount} restarts)`).join(", ")}`);
    return passed(counts);
}

/**
 * The node agent's pod on `node`: ready means every check of the node passes (binaries, CNI
 * plugins, bridge, forwarding); when it is not, the checks that failed, from the agent's last exit.
 */
async function nodeAgentCheck(cluster: Cluster, namespace: string, node: string): Promise<Check> {
    const result = await kubectl(cluster, [
        "-n",
        namespace,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/part-of=plumr,app.kubernetes.io/component=node-agent",
        "--field-selector",
        `spec.nodeName=${node}`,
        "-o",
        "json",
    ]);
    if (result.code !== 0) return failed(`kubectl get pods failed: ${result.stderr}`);
    const pod = (JSON.parse(result.stdout).items as any[]).find((p) => !p.metadata.deletionTimestamp);
    if (!pod) return failed(`no node agent pod on ${node}`);
    const ready = pod.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
    if (ready) return passed(`${pod.metadata.name} ready`);
    const status = (pod.status?.containerStatuses ?? []).find((c: any) => c.name === "agent");
    const message: string = status?.lastState?.terminated?.message ?? status?.state?.terminated?.message ?? "";
    const failures = message
        .split("\n")
        .filter((line) => line.startsWith("node-agent: "))
        .map((line) => line.replace(/^node-agent: node \S+: /, ""));
    return failed(
        `${pod.metadata.name} not ready${failures.length > 0 ? `: ${failures.join(" | ")}` : `: the node ${node} is not ready for the link (kubectl -n ${namespace} logs ${pod.metadata.name})`}`,
    );
}

/** plumr's tun device, read from sysfs in the link's plumr container: it must exist and be up. */
async function tunnelCheck(cluster: Cluster, namespace: string, pod: string, container: string, device: string): Promise<Check> {
    const result = await kubectl(cluster, ["-n", namespace, "exec", pod, "-c", container, "--", "cat", `/sys/class/net/${device}/flags`]);
    if (result.code !== 0) return failed(`no tun device ${device} in the pod`);
    const flags = Number.parseInt(result.stdout.trim(), 16);
    // IFF_UP is bit 0 of the interface's flags.
    return flags & 1 ? passed(`${device} up`) : failed(`${device} is down`);
}

/** Three pings from the workload container to the other end: its tunnel address, or a named endpoint's name. */
async function pingCheck(cluster: Cluster, namespace: string, pod: string, target: string): Promise<Check & { rttMs?: number }> {
    const result = await kubectl(cluster, [
        "-n",
        namespace,
        "exec",
        pod,
        "-c",
        "workload",
        "--",
        "ping",
        "-n",
        "-c",
        "3",
        "-i",
        "0.2",
        "-W",
        "1",
        target,
    ]);
    const summary = parsePing(result.stdout);
    if (!summary) {
        return failed(
            /executable file not found|not found/.test(result.stderr)
                ? "the workload image has no ping"
                : `ping ${target} failed: ${result.stderr || result.stdout.trim()}`,
        );
    }
    const { sent, received, rttMs } = summary;
    const detail = `${received}/${sent} from ${target}${rttMs !== undefined ? `, rtt ${rttMs} ms` : ""}`;
    return received > 0 ? { ...passed(detail), rttMs } : failed(detail);
}

/**
 * The end's metrics as Prometheus scrapes them (through the API server's pod proxy): the link up in
 * the exporter's last probe round, with its round trip and loss, so that verify and the dashboard
 * read the same numbers.
 */
async function metricsCheck(cluster: Cluster, namespace: string, pod: string, link: string): Promise<Check & { values?: LinkMetrics }> {
    const result = await kubectl(cluster, ["get", "--raw", metricsProxyPath(namespace, pod)]);
    if (result.code !== 0) return failed(`no metrics on port ${METRICS_PORT} of ${pod}: ${result.stderr}`);
    const values = linkMetrics(parseMetrics(result.stdout), link);
    if (values.up === undefined) return failed(`the metrics of ${pod} have no plumr_link_up for link ${link}`);
    const age = values.probedAt !== undefined ? `, probed ${Math.max(0, Math.round(Date.now() / 1000 - values.probedAt))} s ago` : "";
    const rtt = values.rttSeconds !== undefined ? `, rtt ${(values.rttSeconds * 1000).toFixed(3)} ms` : "";
    const loss = values.lossRatio !== undefined ? `, loss ${Math.round(values.lossRatio * 100)}%` : "";
    const detail = `up ${values.up}${rtt}${loss}${age}`;
    return values.up === 1 ? { ...passed(detail), values } : { ...failed(detail), values };
}

/**
 * The end's metrics when verify's own ping got replies and the exporter's last round, from before
 * it, said the link was down: the link has just come back, and the exporter's next round (within a
 * probe interval) says so, or says it is down still. Waits for that round, and reports it.
 */
async function metricsAfter(
    cluster: Cluster,
    namespace: string,
    pod: string,
    link: string,
    since: number,
): Promise<Check & { values?: LinkMetrics }> {
    const deadline = Date.now() + (PROBE_INTERVAL_SECONDS + 5) * 1000;
    for (;;) {
        const metrics = await metricsCheck(cluster, namespace, pod, link);
        const probedAt = metrics.values?.probedAt;
        if (metrics.ok || probedAt === undefined || probedAt >= since || Date.now() > deadline) return metrics;
        await sleep(1000);
    }
}

/**
 * Checks one end. `peer` is what the workload pings: the other end's tunnel address, or its name
 * when it is a named endpoint (which checks that the name resolves, too); `device` plumr's tun device.
 */
async function verifyEnd(
    cluster: Cluster,
    namespace: string,
    link: string,
    end: EndFacts,
    peer: string,
    device: string,
): Promise<EndReport> {
    const report = (pod: string | undefined, checks: EndReport["checks"]): EndReport => ({
        link,
        site: cluster.site,
        node: end.node,
        pod,
        checks,
        ok: Object.values(checks).every((c) => c.ok),
    });
    const nodeAgent = await nodeAgentCheck(cluster, namespace, end.node);
    const selector = podSelector(link, end);
    const found = await endpointPod(cluster, namespace, selector);
    if (!found.pod) {
        const pod = failed(found.error ?? `no endpoint pod with label ${selector} in namespace ${namespace}`);
        return report(undefined, { pod, containers: skipped, nodeAgent, tunnel: skipped, ping: skipped, metrics: skipped });
    }
    const pod = found.pod;
    const name: string = pod.metadata.name;
    const phase: string = pod.status?.phase ?? "Unknown";
    const onNode = pod.spec?.nodeName === end.node;
    const podCheck =
        phase === "Running" && onNode
            ? passed(phase)
            : failed(onNode || !pod.spec?.nodeName ? `${phase}` : `${phase} on ${pod.spec.nodeName}, not on ${end.node}`);
    if (phase !== "Running") {
        return report(name, {
            pod: podCheck,
            containers: containerCheck(pod),
            nodeAgent,
            tunnel: skipped,
            ping: skipped,
            metrics: skipped,
        });
    }
    const pinged = Date.now() / 1000;
    const [tunnel, ping, scraped] = await Promise.all([
        tunnelCheck(cluster, namespace, name, end.endpoint !== undefined ? `plumr-${link}` : "plumr", device),
        pingCheck(cluster, namespace, name, peer),
        metricsCheck(cluster, namespace, name, link),
    ]);
    const metrics = ping.ok && !scraped.ok ? await metricsAfter(cluster, namespace, name, link, pinged) : scraped;
    return report(name, { pod: podCheck, containers: containerCheck(pod), nodeAgent, tunnel, ping, metrics });
}

/** The kubectl arguments for a site, from the stack's `plumr:access.<site>` (a kubeconfig's contents go to a temporary file). */
function clusterOf(site: string, access: any, tmp: string, kubectl: string): Cluster {
    const entry = access?.[site];
    if (!entry?.kubeconfig)
        throw new Error(`the stack has no plumr:access.${site}.kubeconfig: verify reaches the cluster the way the stack does`);
    // A path as the program reads it; contents go to a private file for kubectl.
    let file = kubeconfigFile(entry.kubeconfig);
    if (!file) {
        file = path.join(tmp, `${site}.kubeconfig`);
        fs.writeFileSync(file, entry.kubeconfig, { mode: 0o600 });
    }
    return { site, kubectl, args: [`--kubeconfig=${file}`, ...(entry.context ? [`--context=${entry.context}`] : [])] };
}

/** What verify reads of a site the stack publishes: its namespace and its ends. */
const ownSite = publishedSiteSchema.pick({ namespace: true, endpoints: true });

/** Checks every link end the stack deploys, end by end, with `kubectl` (by default the one on PATH). */
export async function verifyStack(stack: Stack, kubectl = "kubectl"): Promise<EndReport[]> {
    const outputs = await stack.outputs();
    const sites = outputs.sites?.value ?? {};
    const links = outputs.links?.value ?? {};
    if (Object.keys(sites).length === 0)
        throw new Error(`stack ${stack.name} has no sites in its outputs: has it been deployed (pulumi up)?`);
    const config = await stack.getAllConfig();
    const accessText = config["plumr:access"]?.value;
    const access = accessText ? JSON.parse(accessText) : {};
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-verify-"));
    const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
    const unregister = onInterrupt(removeTmp);
    try {
        const reports: EndReport[] = [];
        for (const [site, published] of Object.entries<unknown>(sites)) {
            const parsed = ownSite.safeParse(published);
            if (!parsed.success) {
                const issue = parsed.error.issues[0];
                throw new Error(
                    `stack ${stack.name} publishes sites.${site}.${issue.path.join(".")} in another form than this version reads (${issue.message}): run pulumi up on it with this version first`,
                );
            }
            const facts = parsed.data;
            const cluster = clusterOf(site, access, tmp, kubectl);
            for (const [link, end] of Object.entries(facts.endpoints)) {
                const peer = (links[link]?.ends ?? []).find((e: any) => e.site !== site);
                const device = end.device ?? links[link]?.device ?? "tun";
                const target = (end.endpoint !== undefined && peer?.endpoint) || peer?.tunnelIp || "";
                reports.push(await verifyEnd(cluster, facts.namespace, link, end, target, device));
            }
        }
        return reports;
    } finally {
        unregister();
        removeTmp();
    }
}

const mark = (check: Check) => (check.ok ? check.detail : `FAIL: ${check.detail}`);

/** Prints the reports as one table, a row per end. */
export function printReports(reports: EndReport[]): void {
    const rows = [
        ["link", "site", "node", "pod", "phase", "containers", "node agent", "tun", "ping the other end", "metrics (as scraped)"],
    ];
    for (const r of reports) {
        const c = r.checks;
        rows.push([
            r.link,
            r.site,
            r.node,
            r.pod ?? "-",
            mark(c.pod),
            mark(c.containers),
            mark(c.nodeAgent),
            mark(c.tunnel),
            mark(c.ping),
            mark(c.metrics),
        ]);
    }
    printTable(rows);
    const failing = reports.filter((r) => !r.ok);
    console.log(
        failing.length === 0 ? `\nall ${reports.length} link ends pass` : `\n${failing.length} of ${reports.length} link ends fail`,
    );
}

const USAGE = `usage: plumr verify ${STACK_ARGS} [--json] [--cwd <project directory>]
       npm run verify -- [the same]

Checks every link end a deployed stack runs, with the kubectl on PATH through the stack's own
access: the endpoint pod and its containers, the node agent on its node, plumr's tun device, a ping
to the other end, and the end's metrics as Prometheus scrapes them. Prints one table, a row per end.

  <stack>                        the stack to check
  --environment <environment>    every stack of that environment instead
  --json                         the reports as JSON on stdout, nothing else there
  --cwd <project directory>      the project in that directory (default: the current one)
  --help, -h                     this text`;

async function verify(parsed: Parsed): Promise<number> {
    const args = stackArgs(parsed);
    const reports: EndReport[] = [];
    for (const stackName of args.stacks) {
        reports.push(...(await verifyStack(await LocalWorkspace.selectStack({ stackName, workDir: args.workDir }))));
    }
    if (args.json) console.log(JSON.stringify(reports, null, 2));
    else printReports(reports);
    return reports.every((r) => r.ok) ? 0 : 1;
}

export const command: Command = {
    line: { name: "verify", usage: USAGE, options: STACK_OPTIONS, positionals: 1 },
    run: verify,
    stopped: "it changed nothing: run it again",
};

if (require.main === module) void runCommand(command, process.argv.slice(2));
