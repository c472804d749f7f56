// npm run bench:underlay: pod-to-pod throughput and latency across the data-plane twin, with the
// bridge attachment against the macvlan attachment: the question the original demo left open.
// Root only (network namespaces). Results go to bench/underlay.json.
import * as fs from "fs";
import * as path from "path";
import { median } from "./stats";
import { exampleTopology } from "../test/support/harness";
import { renderedEndpoints } from "../test/support/rendered";
import { Attachment, inNs, Twin, twinUnavailable } from "../dev/twin/twin";

const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const OUT = path.join(__dirname, "..", "bench", "underlay.json");

interface Sample {
    gbitsPerSecond: number;
    rttMs: number;
}

/** The shipped topology with both sites on `attachment` (macvlan only exists off AWS). */
function topologyWith(attachment: Attachment): any {
    const topology = exampleTopology();
    for (const site of Object.values<any>(topology.sites)) {
        site.attachment = attachment;
        if (attachment === "macvlan") delete site.aws;
    }
    return topology;
}

async function measure(attachment: Attachment): Promise<Sample[]> {
    const twin = new Twin(`pb${attachment[0]}`, await renderedEndpoints(topologyWith(attachment)), attachment);
    try {
        twin.build();
        twin.endpoints.forEach((end, i) => twin.attach(i, end.attachmentConfig, end.networks));
        const [, remote] = twin.endpoints.map((end) => JSON.parse(end.networks)[0].ips[0].split("/")[0]);
        inNs(twin.pod(0), ["ping", "-c", "3", "-W", "1", remote]); // warm up ARP and routes
        const samples: Sample[] = [];
        for (let rep = 1; rep <= REPETITIONS; rep++) {
            inNs(twin.pod(1), ["iperf3", "-s", "-1", "-D", "-B", remote]);
            await new Promise((r) => setTimeout(r, 300));
            const iperf = JSON.parse(inNs(twin.pod(0), ["iperf3", "-c", remote, "-t", String(SECONDS), "-J"], (SECONDS + 20) * 1000));
            const ping = inNs(twin.pod(0), ["ping", "-c", "20", "-i", "0.05", "-q", remote], 30_000);
            const rtt = Number(/= [\d.]+\/([\d.]+)\//.exec(ping)?.[1]);
            samples.push({ gbitsPerSecond: iperf.end.sum_received.bits_per_second / 1e9, rttMs: rtt });
            console.log(`${attachment} ${rep}/${REPETITIONS}: ${samples[rep - 1].gbitsPerSecond.toFixed(2)} Gbit/s, rtt ${rtt} ms`);
        }
        return samples;
    } finally {
        twin.destroy();
    }
}

async function main(): Promise<void> {
    const unavailable = twinUnavailable();
    if (unavailable) throw new Error(`cannot run the underlay benchmark: ${unavailable}`);
    const results: Record<string, { samples: Sample[]; medianGbitsPerSecond: number; medianRttMs: number }> = {};
    for (const attachment of ["bridge", "macvlan"] as const) {
        const samples = await measure(attachment);
        results[attachment] = {
            samples,
            medianGbitsPerSecond: median(samples.map((s) => s.gbitsPerSecond)),
            medianRttMs: median(samples.map((s) => s.rttMs)),
        };
    }
    const report = {
        what: "pod-to-pod across the data-plane twin (net1 to net1, Ohio to Mumbai, through both sites' routers), iperf3 TCP and ping",
        date: new Date().toISOString(),
        repetitions: REPETITIONS,
        secondsPerRun: SECONDS,
        results,
        ratio: {
            throughputMacvlanOverBridge: results.macvlan.medianGbitsPerSecond / results.bridge.medianGbitsPerSecond,
            rttMacvlanOverBridge: results.macvlan.medianRttMs / results.bridge.medianRttMs,
        },
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
    console.log(`\nmedians over ${REPETITIONS} runs of ${SECONDS}s:`);
    for (const [name, r] of Object.entries(results))
        console.log(`  ${name.padEnd(8)} ${r.medianGbitsPerSecond.toFixed(2)} Gbit/s  rtt ${r.medianRttMs.toFixed(3)} ms`);
    console.log(
        `  macvlan/bridge: throughput x${report.ratio.throughputMacvlanOverBridge.toFixed(2)}, rtt x${report.ratio.rttMacvlanOverBridge.toFixed(2)}`,
    );
    console.log(`written to ${OUT}`);
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
