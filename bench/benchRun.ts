// One run of the program under Pulumi's mocks, for bench/bench.ts: a stack that manages both
// sites, with N links. It runs in a fresh process per repetition, so its peak memory is that one
// run's. It prints one JSON line: the wall time of runProgram (module loading excluded), this
// process's peak RSS and heap, and how many resources the program registered.
//
//   node -r ts-node/register/transpile-only bench/benchRun.ts <links>
//
// It also exports the benchmark topology, which bench.ts uses for the previews too.

/** The sites the benchmark stack manages (both, as a local stack can) and its links join. */
export const SITES = ["ohio", "mumbai"];

/** A namespace of its own, so that previews on the local clusters never touch the demo's. */
const NAMESPACE = "plumr-bench";

/**
 * Changes a two-site topology (in place) into the benchmark's: `count` links named link-001…,
 * their ends round-robin over the ohio and mumbai nodes where they are listed, without addresses (the planner allocates
 * them), a tunnel pool that holds 256 /30 links, and AWS routing `none` on every site, as on the
 * local clusters, so that mocks and previews run the same program paths.
 */
export function withLinks(topology: any, count: number): void {
    topology.tunnel.pool = "10.4.0.0/22";
    for (const site of Object.values<any>(topology.sites)) {
        site.namespace = NAMESPACE;
        if (site.aws) site.aws = { region: site.aws.region, routing: "none" };
    }
    // A site that lists its nodes gets its ends round-robin; a pool's are placed (on its lowest slot's node).
    const nodes = SITES.map((site) => (topology.sites[site].nodes ?? []).map((n: { name: string }) => n.name) as string[]);
    topology.links = Array.from({ length: count }, (_, i) => ({
        name: `link-${String(i + 1).padStart(3, "0")}`,
        ends: SITES.map((site, s) => (nodes[s].length > 0 ? { site, node: nodes[s][i % nodes[s].length] } : { site })),
    }));
}

/** What one run measured; bench.ts reads it from the child's last line of output. */
export interface MockRun {
    links: number;
    /** Wall time of runProgram. */
    ms: number;
    /** Peak resident set size of the whole process (ts-node and the SDK included), KiB. */
    maxRssKiB: number;
    /** Resident set size before the run, once every module is loaded, KiB. */
    rssBeforeKiB: number;
    /** V8 heap in use right after the run (not a peak), KiB. */
    heapUsedKiB: number;
    /** Resources the program registered (components and providers included). */
    resources: number;
}

async function main(): Promise<void> {
    const count = Number(process.argv[2]);
    if (!Number.isInteger(count) || count < 1) throw new Error("usage: benchRun.ts <number of links>");
    // Loaded here, so that bench.ts can import withLinks without loading the program and the SDK.
    const { exampleTopology, runProgram } = await import("../test/support/harness");
    const topology = exampleTopology();
    withLinks(topology, count);

    const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
    const start = performance.now();
    const result = await runProgram({ stack: "bench", topology, sites: SITES });
    const ms = performance.now() - start;
    const run: MockRun = {
        links: count,
        ms,
        maxRssKiB: process.resourceUsage().maxRSS,
        rssBeforeKiB,
        heapUsedKiB: Math.round(process.memoryUsage().heapUsed / 1024),
        resources: result.resources.length,
    };
    console.log(JSON.stringify(run));
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (err) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(1);
        },
    );
}
