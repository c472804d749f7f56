// The picture of the Grafana dashboard (docs/grafana-dashboard.json) in the docs, drawn from a live
// run on the demo's clusters: a local Prometheus scrapes both ends of the demo's link as the
// PodMonitors have it and evaluates the sites' alert rules (PlumrLinkDown after 1m here, where the
// sites' default is 5m), while the run sends traffic through the tunnel both ways, stops Mumbai's
// plumr until PlumrLinkDown fires and goes on until it resolves. Each panel's queries, with the
// link for $link, are then drawn as the dashboard lays them out, into docs/dashboard.svg.
//
//   npm run demo        # first: the demo's sites deployed, its clusters running
//   npx ts-node --transpile-only dev/local/dashboardPicture.ts
import * as fs from "fs";
import * as path from "path";
import { DeployedEnd, execIn, iperf, readyPod } from "./linkProbe";
import { localClustersRunning, startLocalClusters } from "./localClusters";
import { endpointTargets, LocalPrometheus, startLocalPrometheus } from "./localPrometheus";
import { sleep, waitFor } from "../../lib/processes";

const ROOT = path.join(__dirname, "..", "..");
const DASHBOARD = path.join(ROOT, "docs", "grafana-dashboard.json");
const OUT = path.join(ROOT, "docs", "dashboard.svg");
const NAMESPACE = "plumr";
const LINK = "ohio-mumbai";
const STEP_S = 5;
/** Grafana's $__rate_interval for a 5 s scrape: four scrapes. */
const RATE_INTERVAL = "20s";

/** One series of a panel: its legend and its points (seconds since the epoch, value). */
export interface Series {
    legend: string;
    points: [number, number][];
}

/** A dashboard panel as drawn: its title, unit, place on the dashboard's 24-column grid, and series. */
export interface PanelPicture {
    title: string;
    unit?: string;
    gridPos: { x: number; y: number; w: number; h: number };
    series: Series[];
}

const COLORS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2"];
const COLUMN = 50;
const ROW = 30;
const TOP = 40;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A value in the panel's unit, as Grafana would label the axis. */
export function formatValue(value: number, unit?: string): string {
    const round = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
    switch (unit) {
        case "s":
            return value < 1 ? `${round(value * 1000)} ms` : `${round(value)} s`;
        case "percentunit":
            return `${round(value * 100)}%`;
        case "bps":
            return value >= 1e6 ? `${round(value / 1e6)} Mb/s` : value >= 1e3 ? `${round(value / 1e3)} kb/s` : `${round(value)} b/s`;
        default:
            return round(value);
    }
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 16);

/** One panel: its frame, title, axes' ends, a line per series and the legend below. */
function panel(p: PanelPicture, from: number, to: number): string {
    const x = p.gridPos.x * COLUMN;
    const y = TOP + (p.gridPos.y - 1) * ROW;
    const width = p.gridPos.w * COLUMN - 8;
    const height = p.gridPos.h * ROW - 8;
    const plot = { x: x + 52, y: y + 28, w: width - 62, h: height - 28 - 22 - 14 * Math.max(1, p.series.length) };
    const values = p.series.flatMap((s) => s.points.map(([, v]) => v));
    const out = [
        `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
        `<text x="${x + 8}" y="${y + 18}" fill="#ccccdc" font-size="13" font-weight="bold">${escape(p.title)}</text>`,
    ];
    if (values.length === 0) {
        out.push(`<text x="${x + width / 2}" y="${y + height / 2}" fill="#8e8e8e" font-size="13" text-anchor="middle">No data</text>`);
        return out.join("\n");
    }
    const min = Math.min(0, ...values);
    let max = Math.max(...values);
    if (max === min) max = min + 1;
    const px = (t: number) => plot.x + ((t - from) / (to - from)) * plot.w;
    const py = (v: number) => plot.y + plot.h - ((v - min) / (max - min)) * plot.h;
    for (const v of [min, (min + max) / 2, max]) {
        out.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#2c3235"/>`);
        out.push(
            `<text x="${plot.x - 4}" y="${(py(v) + 4).toFixed(1)}" fill="#8e8e8e" font-size="10" text-anchor="end">${escape(formatValue(v, p.unit))}</text>`,
        );
    }
    out.push(`<text x="${plot.x}" y="${plot.y + plot.h + 14}" fill="#8e8e8e" font-size="10">${clock(from)}</text>`);
    out.push(
        `<text x="${plot.x + plot.w}" y="${plot.y + plot.h + 14}" fill="#8e8e8e" font-size="10" text-anchor="end">${clock(to)}</text>`,
    );
    p.series.forEach((s, i) => {
        const color = COLORS[i % COLORS.length];
        const line = s.points.map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
        out.push(`<polyline points="${line}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
        const ly = plot.y + plot.h + 30 + 14 * i;
        out.push(`<rect x="${plot.x}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`);
        out.push(`<text x="${plot.x + 18}" y="${ly}" fill="#ccccdc" font-size="11">${escape(s.legend)}</text>`);
    });
    return out.join("\n");
}

/** The dashboard's row for one link, its panels drawn over [from, to] (seconds since the epoch), as an SVG document. */
export function renderDashboard(title: string, link: string, panels: PanelPicture[], from: number, to: number): string {
    const height = TOP + Math.max(...panels.map((p) => (p.gridPos.y - 1 + p.gridPos.h) * ROW)) + 4;
    const width = 24 * COLUMN;
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Inter, Helvetica, Arial, sans-serif">`,
        `<rect width="100%" height="100%" fill="#111217"/>`,
        `<text x="8" y="24" fill="#ccccdc" font-size="15" font-weight="bold">${escape(title)} · link ${escape(link)}</text>`,
        ...panels.map((p) => panel(p, from, to)),
        `</svg>`,
        "",
    ].join("\n");
}

/** A legend as Grafana fills in a legendFormat such as "{{site}} → {{peer_site}}". */
export function legendOf(format: string | undefined, labels: Record<string, string>): string {
    if (!format)
        return (
            Object.entries(labels)
                .map(([k, v]) => `${k}="${v}"`)
                .join(", ") || "value"
        );
    return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? "");
}

/** Each timeseries panel of the dashboard, its queries run over [from, to] for `link`. */
async function panelData(prometheus: LocalPrometheus, dashboard: any, link: string, from: number, to: number): Promise<PanelPicture[]> {
    const panels = (dashboard.panels as any[]).filter((p) => p.type === "timeseries");
    return Promise.all(
        panels.map(async (p) => {
            const series: Series[] = [];
            for (const target of p.targets as any[]) {
                const expr = String(target.expr)
                    .replace(/\$link/g, link)
                    .replace(/\$__rate_interval/g, RATE_INTERVAL);
                const answer = await prometheus.api(
                    `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${from}&end=${to}&step=${STEP_S}`,
                );
                for (const r of answer.data.result as any[])
                    series.push({
                        legend: legendOf(target.legendFormat, r.metric),
                        points: r.values.map(([t, v]: [number, string]) => [t, Number(v)]),
                    });
            }
            return { title: p.title, unit: p.fieldConfig?.defaults?.unit, gridPos: p.gridPos, series };
        }),
    );
}

const log = (message: string) => console.log(`[dashboard ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Stops (or continues) every process of the end's plumr container but the shell that sends the signal. */
async function signalPlumr(end: DeployedEnd, signal: "STOP" | "CONT"): Promise<void> {
    const pod = await waitFor("the end's endpoint pod", 120_000, () => readyPod(end));
    const all = `for d in /proc/[0-9]*; do [ "\${d#/proc/}" = "$$" ] || kill -s ${signal} "\${d#/proc/}" 2>/dev/null; done; true`;
    await execIn(end, pod.metadata.name, "plumr", ["/bin/sh", "-c", all]);
}

async function main(): Promise<void> {
    if (!localClustersRunning("demo")) throw new Error("the demo's clusters are not running: run npm run demo first");
    const { clusters } = await startLocalClusters("demo");
    const cluster = (name: string) => clusters.find((c) => c.name === name)!;
    const ohio: DeployedEnd = { cluster: cluster("ohio"), namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.1", address: "10.10.1.200" };
    const mumbai: DeployedEnd = {
        cluster: cluster("mumbai"),
        namespace: NAMESPACE,
        link: LINK,
        tunnelIp: "10.4.0.2",
        address: "10.20.1.200",
    };
    const targets = await endpointTargets(clusters, NAMESPACE);
    const alerts = ["ohio", "mumbai"].map((site) => ({ site, stack: site, linkDownFor: "1m", lossRatioAbove: 0.2 }));
    const prometheus = startLocalPrometheus(targets, alerts);
    const downAlert = async (site: string) =>
        ((await prometheus.api("/api/v1/alerts")).data.alerts as any[]).find(
            (a) => a.labels.alertname === "PlumrLinkDown" && a.labels.site === site && a.state === "firing",
        );
    try {
        const from = Math.floor(Date.now() / 1000);
        log(`Prometheus scrapes ${targets.length} endpoint pods; waiting for both ends to be up`);
        await waitFor(
            "both ends up in Prometheus",
            120_000,
            async () => ((await prometheus.query("plumr_link_up == 1")).length === 2 ? true : undefined),
            2000,
        );
        const traffic = async () => {
            const [ohioPod, mumbaiPod] = await Promise.all([readyPod(ohio), readyPod(mumbai)]);
            const there = await iperf(ohio, ohioPod.metadata.name, mumbai, mumbaiPod.metadata.name, 10);
            await sleep(20_000);
            const back = await iperf(mumbai, mumbaiPod.metadata.name, ohio, ohioPod.metadata.name, 10);
            log(`iperf3 through the tunnel: ohio → mumbai ${there.toFixed(0)} Mbit/s, mumbai → ohio ${back.toFixed(0)} Mbit/s`);
        };
        await sleep(20_000);
        await traffic();
        await sleep(20_000);
        log("stopping Mumbai's plumr");
        const stopped = Date.now();
        await signalPlumr(mumbai, "STOP");
        try {
            const firing = await waitFor("PlumrLinkDown to fire at ohio", 300_000, () => downAlert("ohio"), 2000);
            log(`PlumrLinkDown fired ${((Date.now() - stopped) / 1000).toFixed(0)} s after the stop: ${firing.annotations.summary ?? ""}`);
            log(`  ${firing.annotations.description}`);
        } finally {
            await signalPlumr(mumbai, "CONT");
        }
        const resumed = Date.now();
        log("Mumbai's plumr goes on");
        await waitFor("PlumrLinkDown to resolve", 300_000, async () => ((await downAlert("ohio")) ? undefined : true), 2000);
        log(`PlumrLinkDown resolved ${((Date.now() - resumed) / 1000).toFixed(0)} s after plumr went on`);
        await sleep(20_000);
        await traffic();
        await sleep(20_000);
        const to = Math.floor(Date.now() / 1000);
        const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, "utf8"));
        const panels = await panelData(prometheus, dashboard, LINK, from, to);
        fs.writeFileSync(OUT, renderDashboard(dashboard.title, LINK, panels, from, to));
        log(`drawn into ${path.relative(process.cwd(), OUT)}: ${panels.map((p) => `${p.title} (${p.series.length} series)`).join(", ")}`);
    } catch (err) {
        console.error(`Prometheus's log:\n${prometheus.log()}`);
        throw err;
    } finally {
        await prometheus.stop();
    }
}

if (require.main === module)
    main().catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
