// A Prometheus on this machine (Debian's, which dev/setup/ensure-prometheus.sh unpacks into
// .cache/prometheus) that scrapes the local clusters' endpoint pods as the sites' PodMonitors have
// the Prometheus operator do, and evaluates the sites' alert rules as their PrometheusRules hold
// them. Shared by the end-to-end test of the metrics and the dashboard's picture.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { podMonitorSelector } from "../../planner/cluster/metrics";
import { alertGroup, AlertSettings } from "../../planner/cluster/alerts";
import { ClusterSpec, KubeApi } from "./localClusters";

/** Where ensure-prometheus.sh puts Prometheus. */
export const PROMETHEUS = path.join(__dirname, "..", "..", ".cache", "prometheus", "bin", "prometheus");

/** A running local Prometheus. */
export interface LocalPrometheus {
    /** GETs `query` (a path with its query string) of Prometheus's HTTP API; resolves with the JSON answer. */
    api(query: string): Promise<any>;
    /** Runs an instant PromQL query; resolves with its result vector. */
    query(promql: string): Promise<any[]>;
    /** What Prometheus wrote on standard error so far. */
    log(): string;
    /** Stops Prometheus and removes its data. */
    stop(): Promise<void>;
}

/** A JSON answer of a local HTTP API. */
function getJson(url: string): Promise<any> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 10_000 }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => {
                try {
                    resolve(JSON.parse(body));
                } catch (err) {
                    reject(err);
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
        req.on("error", reject);
    });
}

/**
 * What the operator makes of a PodMonitor: the port named `metrics` of each pod its selector picks
 * in `namespace`, with the pod's namespace and name as labels. Found through each cluster's API
 * server, since Debian's Prometheus is built without Kubernetes service discovery; the local nodes'
 * pod addresses are routed from this machine.
 */
export async function endpointTargets(
    clusters: ClusterSpec[],
    namespace: string,
): Promise<{ targets: string[]; labels: Record<string, string> }[]> {
    const selector = encodeURIComponent(
        Object.entries(podMonitorSelector())
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
    );
    const lists = await Promise.all(
        clusters.map(
            async (cluster) =>
                (await new KubeApi(cluster).get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`)).items as any[],
        ),
    );
    return lists.flat().flatMap((pod) =>
        pod.spec.containers.flatMap((c: any) =>
            (c.ports ?? [])
                .filter((p: any) => p.name === "metrics")
                .map((p: any) => ({
                    targets: [`${pod.status.podIP}:${p.containerPort}`],
                    labels: { namespace: pod.metadata.namespace, pod: pod.metadata.name },
                })),
        ),
    );
}

/**
 * Starts Prometheus scraping `targets` every `scrapeInterval` and evaluating the alert rules of
 * `alerts` (one group per site, as each site's PrometheusRule has it), on a loopback port.
 */
export function startLocalPrometheus(
    targets: { targets: string[]; labels: Record<string, string> }[],
    alerts: AlertSettings[],
    scrapeInterval = "5s",
): LocalPrometheus {
    if (!fs.existsSync(PROMETHEUS)) throw new Error(`no prometheus at ${PROMETHEUS}: sh dev/setup/ensure-prometheus.sh puts it there`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-prometheus-"));
    fs.writeFileSync(path.join(dir, "rules.yaml"), JSON.stringify({ groups: alerts.map(alertGroup) }));
    const config = {
        global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
        rule_files: ["rules.yaml"],
        scrape_configs: [{ job_name: "plumr/plumr-endpoints", metrics_path: "/metrics", static_configs: targets }],
    };
    fs.writeFileSync(path.join(dir, "prometheus.yaml"), JSON.stringify(config));
    const port = 20000 + (process.pid % 10000);
    const child: ChildProcess = spawn(
        PROMETHEUS,
        [
            "--config.file=prometheus.yaml",
            `--storage.tsdb.path=${path.join(dir, "data")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            "--log.level=warn",
        ],
        { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    child.stderr!.on("data", (d) => (log += d));
    const api = (query: string) => getJson(`http://127.0.0.1:${port}${query}`);
    return {
        api,
        query: async (promql) => (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)).data.result,
        log: () => log,
        stop: async () => {
            child.kill("SIGTERM");
            await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
