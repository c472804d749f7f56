// Where the users' Prometheus looks: the PodMonitor and the PrometheusRule each site's stack creates
// under mocks, only where its cluster serves the Prometheus operator's objects, and the settings
// that decide it.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { alertGroup } from "../../planner/cluster/alerts";
import { linkMetrics, metricsProxyPath, parseMetrics } from "../../planner/cluster/metrics";
import { ConfigError } from "../../planner/problems/errors";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, find, KUBERNETES_PROVIDER, Registered, runProblems, runProgram } from "../support/harness";

const monitoringObjects = (resources: Registered[]) =>
    resources
        .filter(
            (r) =>
                r.type === "kubernetes:monitoring.coreos.com/v1:PodMonitor" ||
                r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        )
        .map((r) => r.name)
        .sort();

const withMonitoring = (prometheus: string, extra: Record<string, unknown> = {}) => {
    const topology = exampleTopology();
    for (const site of Object.values<any>(topology.sites)) site.monitoring = { prometheus, ...extra };
    return topology;
};

describe("the Prometheus operator's objects", () => {
    it("are created where the cluster serves them: a PodMonitor of the endpoints' metrics port, and the links' alerts", async () => {
        const { resources } = await runProgram({ stack: "ohio", clusterFacts: { ohio: { monitoring: true } } });
        assert.deepStrictEqual(monitoringObjects(resources), ["ohio-monitoring-pod-monitor", "ohio-monitoring-rules"]);
        const monitor = find(resources, "kubernetes:monitoring.coreos.com/v1:PodMonitor", "ohio-monitoring-pod-monitor");
        assert.strictEqual(monitor.provider, "ohio-cluster", "in Ohio's cluster");
        assert.strictEqual(monitor.inputs.metadata.namespace, "plumr");
        assert.deepStrictEqual(
            monitor.inputs.spec.podMetricsEndpoints.map((e: any) => e.port),
            ["metrics"],
        );
        // It selects the endpoint pods, and the endpoint pods carry the labels it selects.
        const pod = find(resources, "kubernetes:apps/v1:Deployment", "ohio-ohio-mumbai").inputs.spec.template;
        for (const [key, value] of Object.entries<string>(monitor.inputs.spec.selector.matchLabels))
            assert.strictEqual(pod.metadata.labels[key], value, `the endpoint pod's ${key}`);
        assert.ok(
            pod.spec.containers.some((c: any) => (c.ports ?? []).some((p: any) => p.name === "metrics")),
            "the endpoint pod has the port",
        );
        const rules = find(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "ohio-monitoring-rules");
        assert.deepStrictEqual(rules.inputs.spec.groups, [
            alertGroup({ site: "ohio", stack: "ohio", linkDownFor: "5m", lossRatioAbove: 0.2 }),
        ]);
    });

    it("are not created where the cluster does not serve them, nor where the site turns them off", async () => {
        const missing = await runProgram({ stack: "ohio", clusterFacts: { ohio: { monitoring: false } } });
        assert.deepStrictEqual(monitoringObjects(missing.resources), []);
        const off = await runProgram({ stack: "ohio", topology: withMonitoring("off"), clusterFacts: { ohio: { monitoring: true } } });
        assert.deepStrictEqual(monitoringObjects(off.resources), []);
    });

    it("fail the preflight, before any change, where the site requires them and the cluster does not serve them", async () => {
        const { problems, registered } = await runProblems(
            { stack: "ohio", topology: withMonitoring("required"), clusterFacts: { ohio: { monitoring: false } } },
            "a site that requires the Prometheus operator's objects on a cluster without them",
        );
        assert.deepStrictEqual(
            problems.map((p) => [p.field, p.value]),
            [["plumr:topology.sites.ohio.monitoring.prometheus", "required"]],
        );
        assert.match(problems[0].message, /serves no PodMonitors and PrometheusRules \(monitoring\.coreos\.com\/v1\)/);
        assert.match(problems[0].fix, /install the Prometheus operator .*user-workload monitoring/);
        assert.deepStrictEqual(
            registered.filter((r) => r.type.startsWith("kubernetes:") && r.type !== KUBERNETES_PROVIDER),
            [],
            "nothing in the cluster",
        );
    });

    it("need the rights to create them only where the cluster serves them, each missing one named", async () => {
        const denied = (monitoring: boolean) => ({
            ohio: {
                monitoring,
                rights: ["podmonitors", "prometheusrules"].map((resource) => ({
                    verb: "create",
                    group: "monitoring.coreos.com",
                    resource,
                    namespace: "plumr",
                    allowed: false,
                })),
            },
        });
        const { problems } = await runProblems({ stack: "ohio", clusterFacts: denied(true) }, "a deployer who may not create them");
        assert.deepStrictEqual(
            problems.map((p) => p.message),
            [
                "the identity that deploys site ohio may not create PodMonitors in namespace plumr, which the stack creates",
                "the identity that deploys site ohio may not create PrometheusRules in namespace plumr, which the stack creates",
            ],
        );
        await runProgram({ stack: "ohio", clusterFacts: denied(false) });
    });

    it("fire PlumrLinkDown after the site's linkDownFor, and say the link, both sites and the first command", async () => {
        const { resources } = await runProgram({
            stack: "ohio",
            topology: withMonitoring("required", { linkDownFor: "90s" }),
            clusterFacts: { ohio: { monitoring: true } },
        });
        const [group] = find(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "ohio-monitoring-rules").inputs.spec.groups;
        const down = group.rules.find((r: any) => r.alert === "PlumrLinkDown");
        assert.strictEqual(down.for, "90s");
        assert.strictEqual(down.expr, 'plumr_link_up{site="ohio"} == 0');
        for (const rule of group.rules) {
            for (const part of ["{{ $labels.link }}", "{{ $labels.site }}", "{{ $labels.peer_site }}"])
                assert.ok(rule.annotations.description.includes(part), `${rule.alert} names ${part}`);
            assert.match(rule.annotations.description, /First run: .*npm run verify -- ohio/);
        }
        assert.deepStrictEqual(
            group.rules.map((r: any) => r.alert),
            ["PlumrLinkDown", "PlumrLinkLossHigh", "PlumrLinkProbesStale"],
        );
    });

    it("take their settings only as Prometheus and the checks can read them, each bad one named with its fix", () => {
        const problems = (monitoring: unknown) => {
            const topology = exampleTopology();
            topology.sites.ohio.monitoring = monitoring;
            try {
                parseTopology(topology);
            } catch (err) {
                if (err instanceof ConfigError) return err.problems.map((p) => [p.field, p.value, p.fix]);
                throw err;
            }
            return [];
        };
        assert.deepStrictEqual(problems({ linkDownFor: "5 minutes" }), [
            ["plumr:topology.sites.ohio.monitoring.linkDownFor", "5 minutes", "write it as Prometheus does, e.g. 5m, 90s or 1h30m"],
        ]);
        assert.strictEqual(problems({ linkDownFor: "0m" })[0]?.[0], "plumr:topology.sites.ohio.monitoring.linkDownFor");
        assert.strictEqual(problems({ prometheus: "yes" })[0]?.[0], "plumr:topology.sites.ohio.monitoring.prometheus");
        assert.strictEqual(problems({ lossRatioAbove: 5 })[0]?.[0], "plumr:topology.sites.ohio.monitoring.lossRatioAbove");
        assert.deepStrictEqual(problems({ linkDownFor: "1h30m" }), []);
        assert.deepStrictEqual(parseTopology(exampleTopology()).sites.ohio.monitoring, {
            prometheus: "auto",
            linkDownFor: "5m",
            lossRatioAbove: 0.2,
        });
    });
});

describe("reading an endpoint's metrics, as npm run verify does", () => {
    const PAGE = [
        "# HELP plumr_link_up 1 when the last probe round through the link's tunnel got a reply, else 0.",
        "# TYPE plumr_link_up gauge",
        'plumr_link_up{link="hub-a",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="cam-a"} 1',
        'plumr_link_up{link="hub-b",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="cam-b"} 0',
        'plumr_link_rtt_seconds{link="hub-a",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="cam-a"} 0.442e-3',
        'plumr_link_probe_loss_ratio{link="hub-b",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="cam-b"} 1.000000',
        'plumr_link_tun_transmit_bytes_total{link="hub-a",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="cam-a"} 10788477338',
        'plumr_link_probe_timestamp_seconds{link="hub-a",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="cam-a"} 1796684368',
    ].join("\n");

    it("takes each link's own numbers from a page of several links", () => {
        const samples = parseMetrics(PAGE);
        assert.strictEqual(samples.length, 6, "comments are not samples");
        assert.deepStrictEqual(samples[0].labels, {
            link: "hub-a",
            site: "ohio",
            peer_site: "mumbai",
            endpoint: "hub",
            peer_endpoint: "cam-a",
        });
        assert.deepStrictEqual(linkMetrics(samples, "hub-a"), {
            up: 1,
            rttSeconds: 0.000442,
            lossRatio: undefined,
            probedAt: 1796684368,
            receiveBytes: undefined,
            transmitBytes: 10788477338,
        });
        assert.strictEqual(linkMetrics(samples, "hub-b").up, 0);
        assert.strictEqual(linkMetrics(samples, "hub-b").lossRatio, 1);
        assert.strictEqual(linkMetrics(samples, "hub-c").up, undefined);
    });

    it("asks the API server's pod proxy for the pod's metrics port", () => {
        assert.strictEqual(metricsProxyPath("plumr", "plumr-hub-1"), "/api/v1/namespaces/plumr/pods/plumr-hub-1:9464/proxy/metrics");
    });
});

describe("the Grafana dashboard (docs/grafana-dashboard.json)", () => {
    const ROOT = path.join(__dirname, "..", "..");
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, "docs", "grafana-dashboard.json"), "utf8"));
    const exporter = fs.readFileSync(path.join(ROOT, "components", "scripts", "plumr-exporter.sh"), "utf8");

    it("has a row per link, with up, round trip, loss, throughput both ways and sidecar restarts", () => {
        const [row, ...panels] = dashboard.panels;
        assert.deepStrictEqual([row.type, row.repeat], ["row", "link"]);
        assert.deepStrictEqual(
            panels.map((p: any) => p.title),
            ["Up", "Round trip", "Probe loss", "Throughput", "Sidecar restarts"],
        );
        const throughput = panels.find((p: any) => p.title === "Throughput").targets.map((t: any) => t.expr);
        assert.ok(throughput.some((e: string) => e.includes("plumr_link_tun_transmit_bytes_total")));
        assert.ok(throughput.some((e: string) => e.includes("plumr_link_tun_receive_bytes_total")));
    });

    it("reads only metrics the exporter serves, and the link variable from them", () => {
        const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
        const used = new Set(exprs.flatMap((e) => e.match(/plumr_[a-z_]+/g) ?? []));
        assert.strictEqual(used.size, 5, [...used].join(" "));
        // The exporter writes its families as `family <name> ...`, the tun counters from their parts.
        const served = new Set([
            ...[...exporter.matchAll(/^\s*family (plumr_[a-z_]+) /gm)].map((m) => m[1]),
            ...["receive", "transmit"].flatMap((d) =>
                ["bytes", "packets", "errors", "dropped"].map((c) => `plumr_link_tun_${d}_${c}_total`),
            ),
        ]);
        for (const metric of used) assert.ok(served.has(metric), `${metric} is served`);
        const link = dashboard.templating.list.find((v: any) => v.name === "link");
        assert.strictEqual(link.definition, "label_values(plumr_link_up, link)");
    });
});
