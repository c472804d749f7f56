// End to end on running pods: each endpoint pod's metrics, scraped through the API server's pod
// proxy, on the tests' own local clusters (instance e2e): each end sees its link up with a round
// trip, and npm run verify shows the same numbers; then down while the peer's plumr is stopped,
// then up again. A local Prometheus (Debian's, dev/setup/ensure-prometheus.sh) scraping the pods as
// the PodMonitor has it and evaluating the site's rules fires PlumrLinkDown while the link is
// broken, and resolves it once it is back.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { KubeApi } from "../../dev/local/localClusters";
import { DeployedEnd, execIn, ping, readyPod } from "../../dev/local/linkProbe";
import { endpointTargets, PROMETHEUS, startLocalPrometheus } from "../../dev/local/localPrometheus";
import { upLocal } from "../../dev/local/localSlots";
import { LocalDeployment, prepareLocalDeployment, siteStack } from "../../dev/local/localStacks";
import { EndReport } from "../../commands/verify";
import { waitFor } from "../../lib/processes";
import { linkMetrics, LinkMetrics, metricsProxyPath, parseMetrics, PROBE_INTERVAL_SECONDS } from "../../planner/cluster/metrics";
import { e2eClusters, E2E } from "../support/localClusters";

const LINK = "ohio-mumbai";
const NAMESPACE = "plumr";
const SITES = ["ohio", "mumbai"] as const;

describe("end to end: each link end's metrics", function () {
    this.timeout(20 * 60_000);
    const stacks: Record<string, Stack> = {};
    const ends: Record<string, DeployedEnd> = {};
    let deployment: LocalDeployment;

    /** The end's pod's metrics page, through the API server's pod proxy. */
    const page = async (site: string): Promise<string> => {
        const pod = await waitFor(`${site}'s endpoint pod`, 120_000, () => readyPod(ends[site]));
        const { status, body } = await new KubeApi(ends[site].cluster).request("GET", metricsProxyPath(NAMESPACE, pod.metadata.name));
        assert.strictEqual(status, 200, `the metrics of ${site}'s pod: ${typeof body === "string" ? body : JSON.stringify(body)}`);
        return body as string;
    };
    const metrics = async (site: string): Promise<LinkMetrics> => linkMetrics(parseMetrics(await page(site)), LINK);
    /** Runs `signal` on every process of the site's plumr container but the shell that sends it. */
    const signalPlumr = async (site: string, signal: "STOP" | "CONT") => {
        const pod = await readyPod(ends[site]);
        const all = `for d in /proc/[0-9]*; do [ "\${d#/proc/}" = "$$" ] || kill -s ${signal} "\${d#/proc/}" 2>/dev/null; done; true`;
        await execIn(ends[site], pod.metadata.name, "plumr", ["/bin/sh", "-c", all]);
    };
    /** The end's metrics once a probe round that ended after `since` (seconds since the epoch) is served. */
    const roundAfter = (site: string, since: number) =>
        waitFor(
            `a probe round at ${site} after ${since}`,
            5 * PROBE_INTERVAL_SECONDS * 1000,
            async () => {
                const m = await metrics(site);
                return m.probedAt !== undefined && m.probedAt > since ? m : undefined;
            },
            1000,
        );

    before(async () => {
        const list = await e2eClusters();
        deployment = prepareLocalDeployment(E2E);
        for (const c of list) stacks[c.name] = await siteStack(deployment, c);
        const cluster = (name: string) => list.find((c) => c.name === name)!;
        ends.ohio = { cluster: cluster("ohio"), namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.1", address: "10.10.1.200" };
        ends.mumbai = { cluster: cluster("mumbai"), namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.2", address: "10.20.1.200" };
        for (const name of ["ohio", "mumbai"]) {
            const result = await upLocal(stacks[name], E2E, { color: "never" });
            assert.strictEqual(result.summary.result, "succeeded");
        }
    });

    it("says the link is up at both ends, with a positive round trip and the link's labels", async () => {
        for (const site of SITES) {
            const m = await roundAfter(site, 0);
            // The first round may have run before the peer's plumr was up: wait for one that passed.
            const up =
                m.up === 1
                    ? m
                    : await waitFor(
                          `${site}'s link up`,
                          5 * PROBE_INTERVAL_SECONDS * 1000,
                          async () => {
                              const now = await metrics(site);
                              return now.up === 1 ? now : undefined;
                          },
                          1000,
                      );
            assert.ok(up.rttSeconds! > 0, `${site}'s round trip ${up.rttSeconds}`);
            assert.ok(up.transmitBytes! > 0 && up.receiveBytes! > 0, `${site}'s tun device counted the probes`);
            const peer = site === "ohio" ? "mumbai" : "ohio";
            assert.match(await page(site), new RegExp(`^plumr_link_up\\{link="${LINK}",site="${site}",peer_site="${peer}"\\} 1$`, "m"));
        }
    });

    /** npm run verify of the site's stack, as JSON: its exit code and its one end's report. */
    const verify = (site: string): { status: number | null; end: EndReport } => {
        const result = spawnSync(
            "npx",
            ["ts-node", "--transpile-only", "commands/verify.ts", site, "--json", "--cwd", deployment.projectDir],
            {
                cwd: path.join(__dirname, "..", ".."),
                env: { ...process.env, ...deployment.env },
                encoding: "utf8",
                timeout: 5 * 60_000,
            },
        );
        assert.ok(result.stdout.trim().startsWith("["), `verify printed no JSON: ${result.stdout}\n${result.stderr}`);
        return { status: result.status, end: (JSON.parse(result.stdout) as EndReport[])[0] };
    };

    it("shows each end's metrics in npm run verify, next to its ping, as the scrape reads them", async () => {
        for (const site of SITES) {
            const { status, end } = verify(site);
            assert.strictEqual(status, 0, JSON.stringify(end.checks));
            assert.match(end.checks.ping.detail, /^3\/3 from /);
            assert.match(end.checks.metrics.detail, /^up 1, rtt \d+\.\d{3} ms, loss \d+%, probed \d+ s ago$/);
            assert.strictEqual(end.checks.metrics.values!.up, 1);
            assert.ok(end.checks.metrics.values!.rttSeconds! > 0);
        }
    });

    it("says the link is down within two probe intervals of the peer's plumr stopping, and up again once it goes on", async () => {
        const stoppedAt = Math.floor(Date.now() / 1000);
        await signalPlumr("mumbai", "STOP");
        try {
            // Two rounds that both ended after the stop: the second began at most two intervals after it.
            const first = await roundAfter("ohio", stoppedAt);
            const second = await roundAfter("ohio", first.probedAt!);
            assert.strictEqual(second.up, 0, "ohio's probes get no reply while mumbai's plumr is stopped");
            assert.strictEqual(second.rttSeconds, undefined, "no round trip without a reply");
            assert.ok(second.lossRatio! > 0, `loss ${second.lossRatio}`);
        } finally {
            await signalPlumr("mumbai", "CONT");
        }
        const continuedAt = Math.floor(Date.now() / 1000);
        // verify at once: its ping gets replies while the exporter's last round still says down, so
        // it waits for the exporter's next round rather than fail an end that has just come back.
        await waitFor(
            "the tunnel to pass traffic again",
            60_000,
            async () =>
                (await ping(ends.ohio, (await readyPod(ends.ohio)).metadata.name, ends.mumbai.tunnelIp, 1)).received > 0 ? true : undefined,
            200,
        );
        const { status, end } = verify("ohio");
        assert.strictEqual(status, 0, JSON.stringify(end.checks));
        assert.ok(end.checks.metrics.values!.probedAt! >= continuedAt, end.checks.metrics.detail);
        const first = await roundAfter("ohio", continuedAt);
        const second = await roundAfter("ohio", first.probedAt!);
        assert.strictEqual(second.up, 1, "ohio's probes get replies again");
        assert.ok(second.rttSeconds! > 0);
    });

    it("has a local Prometheus, scraping as the PodMonitor does, fire PlumrLinkDown while the peer's plumr is stopped and resolve it after", async function () {
        if (!fs.existsSync(PROMETHEUS)) {
            console.log(`    skipped: no prometheus at ${PROMETHEUS} (sh dev/setup/ensure-prometheus.sh puts it there)`);
            this.skip();
        }
        // The site's rules as its PrometheusRule holds them, with a short linkDownFor for the test.
        const targets = await endpointTargets([ends.ohio.cluster], NAMESPACE);
        assert.strictEqual(targets.length, 1, "ohio's endpoint pod, once");
        const prometheus = startLocalPrometheus(targets, [{ site: "ohio", stack: "ohio", linkDownFor: "20s", lossRatioAbove: 0.2 }]);
        const downAlerts = async () =>
            ((await prometheus.api("/api/v1/alerts")).data.alerts as any[]).filter(
                (a) => a.labels.alertname === "PlumrLinkDown" && a.labels.link === LINK,
            );
        try {
            await waitFor(
                "Prometheus to scrape ohio's end, up",
                120_000,
                async () => {
                    const result = await prometheus.query('plumr_link_up{site="ohio"}').catch(() => undefined);
                    return result?.length === 1 && result[0].value[1] === "1" ? true : undefined;
                },
                2000,
            );
            assert.deepStrictEqual(await downAlerts(), [], "no alert while the link is up");
            await signalPlumr("mumbai", "STOP");
            let firing: any;
            try {
                firing = await waitFor(
                    "PlumrLinkDown to fire",
                    180_000,
                    async () => {
                        const alert = (await downAlerts()).find((a) => a.state === "firing");
                        return alert;
                    },
                    2000,
                );
            } finally {
                await signalPlumr("mumbai", "CONT");
            }
            assert.deepStrictEqual(
                [firing.labels.site, firing.labels.peer_site, firing.labels.namespace, firing.labels.severity],
                ["ohio", "mumbai", NAMESPACE, "critical"],
            );
            assert.match(
                firing.annotations.description,
                /of link ohio-mumbai from site ohio to site mumbai \(pod plumr\/plumr-ohio-mumbai-/,
            );
            assert.match(firing.annotations.description, /First run: npm run verify -- ohio/);
            await waitFor("PlumrLinkDown to resolve", 180_000, async () => ((await downAlerts()).length === 0 ? true : undefined), 2000);
        } catch (err) {
            console.log(`prometheus's log:\n${prometheus.log()}`);
            throw err;
        } finally {
            await prometheus.stop();
        }
    });

    after(async () => {
        for (const name of ["mumbai", "ohio"]) await stacks[name]?.destroy({ color: "never" });
    });
});
