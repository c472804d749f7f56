// Probes a deployed link on the local clusters the way a user would: from inside the workload
// containers (kubectl exec), through the tunnel. Shared by npm run demo, the end-to-end tests and
// the link-up benchmark.
import { ClusterSpec, CommandResult, KubeApi, kubectl, kubectlResult } from "./localClusters";
import { parsePing } from "../../lib/ping";

/** One end of a deployed link: its cluster, namespace and the facts its stack published. */
export interface DeployedEnd {
    cluster: ClusterSpec;
    namespace: string;
    link: string;
    /** The named endpoint the end is, whose pod carries all its links; unset for an end written in the link. */
    endpoint?: string;
    /** The end's tunnel address and underlay address. */
    tunnelIp: string;
    address: string;
}

const ready = (pod: any) => pod.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");

/** The end's endpoint pods (all of them, oldest first). */
export async function endpointPods(end: DeployedEnd): Promise<any[]> {
    const api = new KubeApi(end.cluster);
    const selector = encodeURIComponent(end.endpoint !== undefined ? `plumr/endpoint=${end.endpoint}` : `plumr/link=${end.link}`);
    const pods = (await api.get(`/api/v1/namespaces/${end.namespace}/pods?labelSelector=${selector}`)).items as any[];
    return pods.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
}

/** The end's Ready endpoint pod, if there is exactly one that is not being deleted. */
export async function readyPod(end: DeployedEnd): Promise<any | undefined> {
    const pods = (await endpointPods(end)).filter((p) => !p.metadata.deletionTimestamp && ready(p));
    return pods.length === 1 ? pods[0] : undefined;
}

/** Runs a command in one of the pod's containers; rejects when it fails. */
export function execIn(end: DeployedEnd, pod: string, container: string, command: string[], timeoutMs = 60_000): Promise<string> {
    return kubectl(end.cluster, ["-n", end.namespace, "exec", pod, "-c", container, "--", ...command], timeoutMs);
}

/** Runs a command in one of the pod's containers, whatever its exit code. */
export function execResult(
    end: DeployedEnd,
    pod: string,
    container: string,
    command: string[],
    timeoutMs = 60_000,
): Promise<CommandResult> {
    return kubectlResult(end.cluster, ["-n", end.namespace, "exec", pod, "-c", container, "--", ...command], timeoutMs);
}

export interface PingResult {
    sent: number;
    received: number;
    /** Average round-trip time of the replies, in milliseconds. */
    rttMs?: number;
}

/** Pings `target` from the end's workload container (unprivileged: it may use ICMP through its pod's sysctl). */
export async function ping(end: DeployedEnd, pod: string, target: string, count = 3, extra: string[] = []): Promise<PingResult> {
    const { stdout: output } = await execResult(
        end,
        pod,
        "workload",
        ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "1", ...extra, target],
        30_000,
    );
    return parsePing(output) ?? { sent: count, received: 0 };
}

/** TCP throughput through the tunnel with iperf3, from `client`'s workload to `server`'s, in Mbit/s. */
export async function iperf(client: DeployedEnd, clientPod: string, server: DeployedEnd, serverPod: string, seconds = 3): Promise<number> {
    const result = await runIperf(client, clientPod, server, serverPod, ["-t", String(seconds)], seconds);
    return result.end.sum_received.bits_per_second / 1e6;
}

/** What a UDP stream at a fixed rate lost through the tunnel: iperf3 -u from `client`'s workload to `server`'s. */
export interface UdpLoss {
    packets: number;
    lostPackets: number;
    lostPercent: number;
}

/** Sends UDP at `mbits` Mbit/s for `seconds` through the tunnel, from `client`'s workload to `server`'s, and says what was lost. */
export async function iperfUdp(
    client: DeployedEnd,
    clientPod: string,
    server: DeployedEnd,
    serverPod: string,
    seconds: number,
    mbits: number,
): Promise<UdpLoss> {
    const result = await runIperf(client, clientPod, server, serverPod, ["-u", "-b", `${mbits}M`, "-t", String(seconds)], seconds);
    const sum = result.end.sum;
    return { packets: sum.packets, lostPackets: sum.lost_packets, lostPercent: sum.lost_percent };
}

/** One iperf3 test through the tunnel (client arguments `args`, about `seconds` long), its JSON report. */
async function runIperf(
    client: DeployedEnd,
    clientPod: string,
    server: DeployedEnd,
    serverPod: string,
    args: string[],
    seconds: number,
): Promise<any> {
    // -1: the server serves one test and exits, so nothing stays behind in the workload container.
    await execIn(server, serverPod, "workload", ["iperf3", "-s", "-1", "-D", "-B", server.tunnelIp]);
    for (let attempt = 0; ; attempt++) {
        try {
            const out = await execIn(
                client,
                clientPod,
                "workload",
                ["iperf3", "-c", server.tunnelIp, ...args, "-J"],
                (seconds + 30) * 1000,
            );
            return JSON.parse(out);
        } catch (err) {
            // The daemon may not listen yet right after it was started.
            if (attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 300));
        }
    }
}
