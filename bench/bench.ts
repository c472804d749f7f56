// npm run bench: how the program scales with the number of links. For each size (1, 10, 50 and 100
// links by default) it measures, several times, and reports median, min and max of:
//
//   mocks    the program run once under Pulumi's mocks (test/support/harness.ts runProgram) for a stack
//            that manages both sites, each run in a fresh child process (bench/benchRun.ts):
//            wall time of the run, peak RSS of that process, resources registered;
//   preview  `pulumi preview` with the real engine on the two local clusters, of a stack that
//            manages both sites, from an empty stack (everything a create): wall time, and peak
//            memory of the whole process tree (pulumi CLI, language host, the Node.js program and
//            the Kubernetes provider), the sum of their VmRSS sampled from /proc every 100 ms;
//            with checkpoints off, as the project's previews run (dev/local/localStacks.ts preview);
//   previewWithCheckpoints
//            the same with the CLI's defaults, whose per-step checkpoints of a preview grow with
//            the square of the resources: the comparison that shows why they are off.
//
// The links are link-001…, their ends round-robin over the ohio and mumbai nodes, with allocated
// addresses and AWS routing `none` in both measurements (bench/benchRun.ts withLinks). Results,
// with the per-link cost (least-squares slope through the medians), the fixed cost (intercept) and
// a linearity check, go to bench/links.json (for previews also per process: CLI, program,
// provider); a markdown table is printed at the end. The clusters are started if needed and
// stopped again if this run started them.
//
//   npm run bench
//   BENCH_SIZES=1,10 BENCH_REPETITIONS=1 npx ts-node --transpile-only bench/bench.ts
//
// BENCH_SIZES: comma-separated numbers of links [1,10,50,100]. BENCH_REPETITIONS: runs per size and
// measurement [5 under mocks, 3 previews]. One warm-up run of each measurement is discarded.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import versions from "../dev/toolchain/versions.json";
import { MockRun, SITES, withLinks } from "./benchRun";
import { cgroupProcesses } from "../dev/local/cgroups";
import { ClusterSpec, instanceCgroup, kubeconfigPath, startLocalClusters, stopLocalClusters } from "../dev/local/localClusters";
import { localPulumi, prepareLocalDeployment, preview } from "../dev/local/localStacks";
import { median } from "./stats";

const ROOT = path.join(__dirname, "..");
const OUT = path.join(ROOT, "bench", "links.json");
const SIZES = (process.env.BENCH_SIZES ?? "1,10,50,100").split(",").map(Number);
const REPETITIONS = {
    mocks: Number(process.env.BENCH_REPETITIONS ?? 5),
    preview: Number(process.env.BENCH_REPETITIONS ?? 3),
};
const MOCK_TIMEOUT_MS = 5 * 60_000;
const PREVIEW_TIMEOUT_MS = 15 * 60_000;
const SAMPLE_INTERVAL_MS = 100;
const DEPLOYMENT = "bench" as const;

const MiB = 1024;
const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** Aborted on SIGINT/SIGTERM: the running child or preview is stopped, and the clusters too if this run started them. */
const interrupted = new AbortController();

// ---------------------------------------------------------------------------------------------
// Process-tree memory, from /proc

/** Parent of every process, and its command name, read from /proc/<pid>/stat. */
function processTable(): Map<number, { ppid: number; comm: string }> {
    const table = new Map<number, { ppid: number; comm: string }>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // The command name is in parentheses and may itself hold spaces or parentheses.
            const close = stat.lastIndexOf(")");
            const comm = stat.slice(stat.indexOf("(") + 1, close);
            const ppid = Number(stat.slice(close + 2).split(" ")[1]);
            table.set(Number(entry), { ppid, comm });
        } catch {
            // the process exited meanwhile
        }
    }
    return table;
}

/** Every descendant of `root` with its command name, skipping the subtrees of `exclude`. */
function descendants(root: number, exclude: Set<number>): { pid: number; comm: string }[] {
    const table = processTable();
    const children = new Map<number, number[]>();
    for (const [pid, { ppid }] of table) {
        if (!children.has(ppid)) children.set(ppid, []);
        children.get(ppid)!.push(pid);
    }
    const found: { pid: number; comm: string }[] = [];
    const queue = [...(children.get(root) ?? [])];
    while (queue.length > 0) {
        const pid = queue.shift()!;
        if (exclude.has(pid)) continue;
        found.push({ pid, comm: commandName(pid, table.get(pid)!.comm) });
        queue.push(...(children.get(pid) ?? []));
    }
    return found;
}

/** The program a process runs (its argv[0]); /proc's comm is cut at 15 characters. */
function commandName(pid: number, comm: string): string {
    try {
        return path.basename(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]) || comm;
    } catch {
        return comm;
    }
}

function rssKiB(pid: number): number {
    try {
        return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
        return 0;
    }
}

/** The local clusters' processes (their nodes' too), which this process may have started: not part of a preview. */
function clusterPids(): Set<number> {
    return new Set(cgroupProcesses(instanceCgroup(DEPLOYMENT)));
}

/** Samples the summed VmRSS of this process's descendants (not itself, not the clusters) and keeps the peak. */
class TreeMemory {
    private peakKiB = 0;
    /** Each command's own peak (summed over processes of that name), KiB. */
    private readonly peakByCommKiB: Record<string, number> = {};
    private readonly timer: NodeJS.Timeout;

    constructor(private readonly exclude: Set<number>) {
        this.sample();
        this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    }

    private sample(): void {
        let total = 0;
        const byComm: Record<string, number> = {};
        for (const { pid, comm } of descendants(process.pid, this.exclude)) {
            const rss = rssKiB(pid);
            if (rss === 0) continue; // exited meanwhile (a zombie has no VmRSS)
            total += rss;
            byComm[comm] = (byComm[comm] ?? 0) + rss;
        }
        this.peakKiB = Math.max(this.peakKiB, total);
        for (const [comm, rss] of Object.entries(byComm)) this.peakByCommKiB[comm] = Math.max(this.peakByCommKiB[comm] ?? 0, rss);
    }

    stop(): { peakMiB: number; peakByProcessMiB: Record<string, number> } {
        clearInterval(this.timer);
        this.sample();
        const byProcess = Object.entries(this.peakByCommKiB).sort(([a], [b]) => a.localeCompare(b));
        return { peakMiB: this.peakKiB / MiB, peakByProcessMiB: Object.fromEntries(byProcess.map(([c, kib]) => [c, round(kib / MiB)])) };
    }
}

/** Kills whatever this process still has running, except the clusters. */
function killDescendants(): void {
    for (const { pid } of descendants(process.pid, clusterPids()).reverse()) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The two measurements

interface Run {
    ms: number;
    peakMiB: number;
    resources: number;
    /** Preview only: each process's peak, by command name. */
    peakByProcessMiB?: Record<string, number>;
}

/** One run of the program under mocks with `links` links, in a fresh child process. */
function mockRun(links: number): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "benchRun.ts"), String(links)],
            {
                cwd: ROOT,
                stdio: ["ignore", "pipe", "pipe"],
                timeout: MOCK_TIMEOUT_MS,
                killSignal: "SIGKILL",
                signal: interrupted.signal,
            },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (code !== 0) {
                const why = signal
                    ? `was killed (${signal}${signal === "SIGKILL" ? `, timeout ${MOCK_TIMEOUT_MS / 1000}s?` : ""})`
                    : `exited ${code}`;
                return reject(new Error(`benchRun.ts ${links} ${why}: ${stderr.trim() || stdout.trim()}`));
            }
            const run: MockRun = JSON.parse(stdout.trim().split("\n").pop()!);
            resolve({ ms: run.ms, peakMiB: run.maxRssKiB / MiB, resources: run.resources });
        });
    });
}

/** The benchmark's stack on the local clusters, with an empty state: both sites, and access to both clusters. */
async function previewStack(clusters: ClusterSpec[]): Promise<Stack> {
    const deployment = prepareLocalDeployment(DEPLOYMENT, (t) => withLinks(t, SIZES[0]));
    // Previews change no state; an empty state makes sure that nothing an interrupted run left counts.
    fs.rmSync(deployment.stateDir, { recursive: true, force: true });
    fs.mkdirSync(deployment.stateDir, { recursive: true });
    fs.rmSync(path.join(deployment.projectDir, `Pulumi.${DEPLOYMENT}.yaml`), { force: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: DEPLOYMENT, workDir: deployment.projectDir },
        { envVars: deployment.env, pulumiCommand: await localPulumi() },
    );
    await stack.setConfig("plumr:sites", { value: JSON.stringify(SITES) });
    for (const cluster of clusters) {
        await stack.setConfig(`plumr:access.${cluster.name}.kubeconfig`, { value: kubeconfigPath(cluster), secret: true }, true);
        await stack.setConfig(`plumr:access.${cluster.name}.context`, { value: cluster.name }, true);
    }
    return stack;
}

/** One `pulumi preview` of the benchmark stack with `links` links, from its empty state; checkpoints off unless `checkpoints`. */
async function previewRun(stack: Stack, links: number, checkpoints: boolean): Promise<Run> {
    prepareLocalDeployment(DEPLOYMENT, (t) => withLinks(t, links));
    const abort = new AbortController();
    const stopOnInterrupt = () => abort.abort();
    interrupted.signal.addEventListener("abort", stopOnInterrupt);
    const timeout = setTimeout(() => abort.abort(), PREVIEW_TIMEOUT_MS);
    // On abort the CLI gets SIGINT; whatever still runs 30 s later is killed.
    abort.signal.addEventListener("abort", () => setTimeout(killDescendants, 30_000).unref());

    const memory = new TreeMemory(clusterPids());
    const start = performance.now();
    const options = { color: "never", signal: abort.signal } as const;
    const result = await (checkpoints ? stack.preview(options) : preview(stack, options))
        .catch((err) => {
            memory.stop();
            if (abort.signal.aborted && !interrupted.signal.aborted)
                throw new Error(`preview of ${links} links timed out after ${PREVIEW_TIMEOUT_MS / 1000}s`);
            throw err;
        })
        .finally(() => {
            clearTimeout(timeout);
            interrupted.signal.removeEventListener("abort", stopOnInterrupt);
        });
    const ms = performance.now() - start;
    const resources = Object.values(result.changeSummary).reduce((sum, n) => sum + (n ?? 0), 0);
    return { ms, resources, ...memory.stop() };
}

/**
 * One warm-up run (discarded), then `repetitions` rounds over all sizes: interleaved, so that a
 * slow spell of the (shared) machine does not fall on one size only.
 */
async function measure(name: string, repetitions: number, run: (links: number) => Promise<Run>): Promise<Map<number, Run[]>> {
    interrupted.signal.throwIfAborted();
    log(`${name}: warm-up with ${SIZES[0]} link(s)`);
    await run(SIZES[0]);
    const runs = new Map<number, Run[]>(SIZES.map((size) => [size, []]));
    for (let rep = 1; rep <= repetitions; rep++) {
        for (const size of SIZES) {
            interrupted.signal.throwIfAborted();
            const r = await run(size);
            runs.get(size)!.push(r);
            log(
                `${name} ${rep}/${repetitions}, ${size} links: ${r.ms.toFixed(0)} ms, peak ${r.peakMiB.toFixed(1)} MiB, ${r.resources} resources`,
            );
        }
    }
    return runs;
}

// ---------------------------------------------------------------------------------------------
// Statistics and the report

const spread = (values: number[], digits: number) => ({
    median: round(median(values), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
});

/** Least-squares line through (x, y): slope, intercept and r². */
function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number } {
    const n = xs.length;
    const mx = xs.reduce((s, x) => s + x, 0) / n;
    const my = ys.reduce((s, y) => s + y, 0) / n;
    const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
    const syy = ys.reduce((s, y) => s + (y - my) ** 2, 0);
    const slope = sxy / sxx;
    return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

interface Derived {
    /** Slope of the least-squares line through the medians: the cost of one more link. */
    perLink: number;
    /** Its intercept: the cost with no link. */
    fixed: number;
    r2: number;
    /** The slope between each pair of neighbouring sizes. */
    slopes: Record<string, number>;
    /** The slope between the two largest sizes over the slope just below it; about 1 is linear. */
    linearity: number | null;
}

function derive(sizes: number[], medians: number[]): Derived {
    const fit = linearFit(sizes, medians);
    const slope = (i: number, j: number) => (medians[j] - medians[i]) / (sizes[j] - sizes[i]);
    const last = sizes.length - 1;
    return {
        perLink: round(fit.slope, 3),
        fixed: round(fit.intercept, 1),
        r2: round(fit.r2, 4),
        slopes: Object.fromEntries(sizes.slice(1).map((size, i) => [`${sizes[i]}to${size}`, round(slope(i, i + 1), 3)])),
        linearity: sizes.length >= 3 ? round(slope(last - 1, last) / slope(last - 2, last - 1), 2) : null,
    };
}

function summarize(runs: Map<number, Run[]>) {
    const sizes = [...runs.keys()];
    const perSize = sizes.map((size) => {
        const rs = runs.get(size)!;
        const commands = [...new Set(rs.flatMap((r) => Object.keys(r.peakByProcessMiB ?? {})))].sort();
        const byProcess = Object.fromEntries(commands.map((c) => [c, round(median(rs.map((r) => r.peakByProcessMiB?.[c] ?? 0)))]));
        return {
            links: size,
            resources: rs[0].resources,
            timeMs: spread(
                rs.map((r) => r.ms),
                0,
            ),
            peakMiB: spread(
                rs.map((r) => r.peakMiB),
                1,
            ),
            ...(commands.length > 0 ? { medianPeakByProcessMiB: byProcess } : {}),
        };
    });
    // Each process's own peak too (previews): the sum can hide one process that grows faster.
    const everywhere = Object.keys(perSize[0].medianPeakByProcessMiB ?? {}).filter((c) =>
        perSize.every((s) => s.medianPeakByProcessMiB?.[c] !== undefined),
    );
    const byProcess = everywhere.map((c) => [
        c,
        derive(
            sizes,
            perSize.map((s) => s.medianPeakByProcessMiB![c]),
        ),
    ]);
    const derived = {
        timeMs: derive(
            sizes,
            perSize.map((s) => s.timeMs.median),
        ),
        peakMiB: derive(
            sizes,
            perSize.map((s) => s.peakMiB.median),
        ),
        ...(byProcess.length > 0 ? { peakByProcessMiB: Object.fromEntries(byProcess) as Record<string, Derived> } : {}),
    };
    return { sizes: perSize, derived };
}

type Summary = ReturnType<typeof summarize>;

/** The markdown table for the README: medians (min–max) per measurement, then the derived costs. */
function table(columns: [string, Summary][]): string {
    const time = (ms: number) => (Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
    const mib = (v: number) => `${v.toFixed(0)} MiB`;
    const range = (s: { median: number; min: number; max: number }, format: (v: number) => string) =>
        `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
    const rows = [
        `| links | ${columns.map(([name]) => `${name} time | ${name} peak`).join(" | ")} |`,
        `| --- | ${columns.map(() => "--- | ---").join(" | ")} |`,
        ...columns[0][1].sizes.map(
            (size, i) =>
                `| ${size.links} | ${columns.map(([, s]) => `${range(s.sizes[i].timeMs, time)} | ${range(s.sizes[i].peakMiB, mib)}`).join(" | ")} |`,
        ),
    ];
    const row = (label: string, cell: (d: Derived, memory: boolean) => string) =>
        `| ${label} | ${columns.map(([, s]) => `${cell(s.derived.timeMs, false)} | ${cell(s.derived.peakMiB, true)}`).join(" | ")} |`;
    rows.push(
        row("per link", (d, memory) => (memory ? `${d.perLink.toFixed(2)} MiB` : `${d.perLink.toFixed(1)} ms`)),
        row("fixed", (d, memory) => (memory ? mib(d.fixed) : time(d.fixed))),
        row("linearity (r²)", (d) => `${d.linearity === null ? "–" : `×${d.linearity.toFixed(2)}`} (${d.r2.toFixed(3)})`),
    );
    return rows.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
    if (SIZES.length < 2 || SIZES.some((s) => !Number.isInteger(s) || s < 1) || new Set(SIZES).size !== SIZES.length)
        throw new Error(`BENCH_SIZES must be at least two different whole numbers of links, got ${process.env.BENCH_SIZES}`);
    if (!Number.isInteger(REPETITIONS.mocks) || REPETITIONS.mocks < 1)
        throw new Error(`BENCH_REPETITIONS must be 1 or more, got ${process.env.BENCH_REPETITIONS}`);
    const began = Date.now();

    const mocks = summarize(await measure("mocks", REPETITIONS.mocks, mockRun));

    let startedHere = false;
    let previews: Summary;
    let withCheckpoints: Summary;
    try {
        log("starting the local clusters (instance bench)");
        const { clusters, started } = await startLocalClusters(DEPLOYMENT);
        startedHere = started;
        const stack = await previewStack(clusters);
        previews = summarize(await measure("preview", REPETITIONS.preview, (links) => previewRun(stack, links, false)));
        withCheckpoints = summarize(
            await measure("preview with checkpoints", REPETITIONS.preview, (links) => previewRun(stack, links, true)),
        );
    } finally {
        if (startedHere) stopLocalClusters(DEPLOYMENT);
    }

    const cpus = os.cpus();
    const report = {
        what: "how the program scales with the number of links, for a stack that manages both sites (ohio and mumbai)",
        date: new Date().toISOString(),
        durationSeconds: Math.round((Date.now() - began) / 1000),
        machine: {
            cpuModel: cpus[0]?.model ?? "unknown",
            cpus: cpus.length,
            totalMemoryMiB: Math.round(os.totalmem() / 1024 / 1024),
            os: `${os.type()} ${os.release()}`,
            node: process.version,
            pulumi: versions.pulumi,
            pulumiKubernetes: versions.pulumiKubernetes,
        },
        settings: {
            sizes: SIZES,
            repetitions: REPETITIONS,
            warmUp: "one run of each measurement with the smallest size, discarded",
            topology:
                "the shipped topology with its links replaced by link-001…, ends round-robin over the ohio nodes (2) and the " +
                "mumbai nodes (3), addresses allocated by the planner, tunnel.pool 10.4.0.0/22, namespace plumr-bench, and " +
                "aws.routing none on every site in both measurements (the local clusters are not on AWS); no allocations file records " +
                "the benchmark's links, so every value is allocated",
        },
        mocks: {
            how:
                "test/support/harness.ts runProgram in a fresh child process per run (bench/benchRun.ts): wall time of runProgram only; " +
                "peak = that process's maxRSS (Node.js, ts-node and the SDK included); resources = registered by the program",
            ...mocks,
        },
        preview: {
            how:
                "pulumi preview through the Automation API on the local clusters, from an empty stack, with PULUMI_SKIP_CHECKPOINTS=true " +
                "as the project's previews run: wall time of the preview; " +
                `peak = the largest sum of VmRSS over the CLI, language host, program and provider processes, sampled every ${SAMPLE_INTERVAL_MS} ms; ` +
                "resources = the preview's change summary (the stack resource included)",
            ...previews,
        },
        previewWithCheckpoints: {
            how: "the same previews with the CLI's defaults: a checkpoint of the whole snapshot after every step",
            ...withCheckpoints,
        },
        legend: {
            perLink: "slope of the least-squares line through the medians (ms or MiB per link)",
            fixed: "its intercept: the cost with no link",
            r2: "r² of that line",
            slopes: "the slope between neighbouring sizes",
            peakByProcessMiB:
                "previews: the peak of each program in the tree (processes of one name summed), and the same fit of its medians",
            linearity:
                SIZES.length >= 3
                    ? `per-link slope between the two largest sizes over the slope just below it (${SIZES.at(-2)}→${SIZES.at(-1)} ` +
                      `over ${SIZES.at(-3)}→${SIZES.at(-2)}): about 1 is linear, clearly above 1 worse than linear`
                    : "needs three sizes or more",
        },
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
    console.log(`\nmedian (min–max) over ${REPETITIONS.mocks} runs under mocks and ${REPETITIONS.preview} previews:\n`);
    console.log(
        table([
            ["mocks", mocks],
            ["preview", previews],
            ["preview with checkpoints", withCheckpoints],
        ]),
    );
    const processes = Object.entries(previews.derived.peakByProcessMiB ?? {}).map(
        ([c, d]) => `${c} ${d.perLink.toFixed(2)}${d.linearity === null ? "" : ` (×${d.linearity.toFixed(2)})`}`,
    );
    console.log(`\npreview peak by process, MiB per link (linearity): ${processes.join(", ")}`);
    console.log(`\nwritten to ${path.relative(process.cwd(), OUT)} in ${report.durationSeconds} s`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
        if (interrupted.signal.aborted) {
            killDescendants();
            process.exit(130);
        }
        log(`${signal}: stopping (again to force)`);
        interrupted.abort();
    });
}

main().catch((err) => {
    killDescendants();
    console.error(interrupted.signal.aborted ? "interrupted" : err instanceof Error ? err.message : err);
    process.exit(1);
});
