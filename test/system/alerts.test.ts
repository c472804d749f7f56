// The links' alerts, as the site's PrometheusRule holds them, evaluated by Prometheus's own rule
// engine through promtool's rule unit tests (promtool from Debian's prometheus package,
// dev/setup/ensure-prometheus.sh): when each fires, and that it resolves.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { alertGroup, AlertRule, STALE_AFTER_SECONDS } from "../../planner/cluster/alerts";

const PROMTOOL = path.join(__dirname, "..", "..", ".cache", "prometheus", "bin", "promtool");

/** One link end's labels, as the PodMonitor's scrape gives them. */
const END = { link: "ohio-mumbai", site: "ohio", peer_site: "mumbai", namespace: "plumr", pod: "plumr-ohio-mumbai-abc" };
const series = (metric: string, labels: Record<string, string> = END) =>
    `${metric}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}}`;

/** An annotation as Prometheus renders it for END, `value` standing for the alert's value. */
const rendered = (template: string, value = "") =>
    template
        .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => (END as Record<string, string>)[name])
        .replace(/\{\{ \$value \| humanizePercentage \}\}/g, value);

const firing = (rule: AlertRule, value = "") => [
    {
        exp_labels: { ...END, ...rule.labels },
        exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, rendered(v, value)])),
    },
];

/** Runs promtool's rule tests on `group`: its output, and whether every test passed. */
function promtool(group: ReturnType<typeof alertGroup>, tests: object[]): { ok: boolean; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-alerts-"));
    try {
        // JSON is YAML: promtool reads both files as the PrometheusRule's groups are written.
        fs.writeFileSync(path.join(dir, "rules.yaml"), JSON.stringify({ groups: [group] }));
        fs.writeFileSync(path.join(dir, "tests.yaml"), JSON.stringify({ rule_files: ["rules.yaml"], evaluation_interval: "1m", tests }));
        const result = spawnSync(PROMTOOL, ["test", "rules", "tests.yaml"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
        return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("the links' alerts, in Prometheus's rule engine (promtool)", function () {
    this.timeout(120_000);
    before(function () {
        if (!fs.existsSync(PROMTOOL)) {
            console.log(`    skipped: no promtool at ${PROMTOOL} (sh dev/setup/ensure-prometheus.sh puts it there)`);
            this.skip();
        }
    });

    const group = (linkDownFor = "5m") => alertGroup({ site: "ohio", stack: "ohio", linkDownFor, lossRatioAbove: 0.2 });
    const rule = (g: ReturnType<typeof alertGroup>, name: string) => g.rules.find((r) => r.alert === name)!;

    it("checks the rules as Prometheus loads them", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-alerts-"));
        try {
            fs.writeFileSync(path.join(dir, "rules.yaml"), JSON.stringify({ groups: [group()] }));
            const result = spawnSync(PROMTOOL, ["check", "rules", path.join(dir, "rules.yaml")], { encoding: "utf8" });
            assert.strictEqual(result.status, 0, `${result.stdout}${result.stderr}`);
            assert.match(result.stdout, /SUCCESS: 3 rules found/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("fires PlumrLinkDown once the link has been down for linkDownFor, and resolves it once it is up", () => {
        for (const [linkDownFor, minutes] of [
            ["5m", 5],
            ["3m", 3],
        ] as const) {
            const g = group(linkDownFor);
            // Up for 2 minutes, down from 2m to 12m, up again from 13m.
            const { ok, output } = promtool(g, [
                {
                    interval: "1m",
                    input_series: [{ series: series("plumr_link_up"), values: "1 1 0x10 1x5" }],
                    alert_rule_test: [
                        { eval_time: `${1 + minutes}m`, alertname: "PlumrLinkDown", exp_alerts: [] },
                        { eval_time: `${2 + minutes}m`, alertname: "PlumrLinkDown", exp_alerts: firing(rule(g, "PlumrLinkDown")) },
                        { eval_time: "12m", alertname: "PlumrLinkDown", exp_alerts: firing(rule(g, "PlumrLinkDown")) },
                        { eval_time: "13m", alertname: "PlumrLinkDown", exp_alerts: [] },
                    ],
                },
            ]);
            assert.ok(ok, `linkDownFor ${linkDownFor}:\n${output}`);
        }
    });

    it("fires PlumrLinkLossHigh when the loss stays above the threshold for 10 minutes", () => {
        const g = group();
        const { ok, output } = promtool(g, [
            {
                interval: "1m",
                input_series: [{ series: series("plumr_link_probe_loss_ratio"), values: "0 0.1 0.5x15" }],
                alert_rule_test: [
                    { eval_time: "11m", alertname: "PlumrLinkLossHigh", exp_alerts: [] },
                    { eval_time: "12m", alertname: "PlumrLinkLossHigh", exp_alerts: firing(rule(g, "PlumrLinkLossHigh"), "50%") },
                ],
            },
        ]);
        assert.ok(ok, output);
    });

    it("fires PlumrLinkProbesStale when no probe round has ended for a while, and not while rounds go on", () => {
        const g = group();
        // Rounds end every minute until 5m, then none: the timestamp stays at 300 s.
        const { ok, output } = promtool(g, [
            {
                interval: "1m",
                input_series: [{ series: series("plumr_link_probe_timestamp_seconds"), values: "0+60x5 300x20" }],
                alert_rule_test: [
                    { eval_time: "5m", alertname: "PlumrLinkProbesStale", exp_alerts: [] },
                    // Stale from 300 + STALE_AFTER_SECONDS on, then 5 minutes pending.
                    { eval_time: `${5 + STALE_AFTER_SECONDS / 60 + 5}m`, alertname: "PlumrLinkProbesStale", exp_alerts: [] },
                    {
                        eval_time: `${5 + STALE_AFTER_SECONDS / 60 + 6}m`,
                        alertname: "PlumrLinkProbesStale",
                        exp_alerts: firing(rule(g, "PlumrLinkProbesStale")),
                    },
                ],
            },
        ]);
        assert.ok(ok, output);
    });
});
