// npm run bench:start (and npm run bench): what a run of this program costs beyond the floor, the
// same command on an empty TypeScript program. Side by side in one run, interleaved, on the local
// clusters (instance bench):
//
//   floor     an empty TypeScript program (index.ts exports nothing), with the same CLI, language
//             host, Node.js, backend and ts-node settings as the project;
//   project   this program, one site's stack (ohio) of the shipped topology on the local clusters.
//
// For each, per round: `pulumi up --skip-preview` from an empty stack (the site deployed: its
// objects created, the endpoint's Deployment waited for until ready), the same again with nothing
// to change, and `pulumi preview` with nothing to change (checkpoints off, as the project's
// previews run); each command of the floor, then the same of the project. The no-change commands
// of both run with the project's objects deployed: the local clusters share this machine's cores,
// and the project's pods (their probes, the metrics exporter) are then the same background for
// both. Then `pulumi destroy` of both (not timed) empties the stacks for the next round. Wall
// time per command, and CPU time of the CLI and every process under it. Results, with medians,
// minimum, maximum and the project-over-floor ratios, go to bench/start.json; a table is printed.
//
//   npm run bench:start
//   BENCH_REPETITIONS=3 npx ts-node --transpile-only bench/benchStart.ts
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import versions from "../dev/toolchain/versions.json";
import { onInterrupt } from "../lib/interrupts";
import { median } from "./stats";
import { printTable } from "../lib/table";
import { kubeconfigPath, startLocalClusters, stopLocalClusters } from "../dev/local/localClusters";
import { recordSlots } from "../dev/local/localSlots";
import { prepareLocalDeployment } from "../dev/local/localStacks";
import { TimedRun, timedPulumi } from "../dev/local/timedPulumi";

const ROOT = path.join(__dirname, "..");
const OUT = path.join(ROOT, "bench", "start.json");
const INSTANCE = "bench" as const;
/** The project's local deployment: its own directory and backend, next to the scale benchmark's. */
const DEPLOYMENT = "bench-start";
const SITE = "ohio";
const PEER = "mumbai";

const MEASUREMENTS = [
    { key: "upFromEmpty", label: "up from empty", args: ["up", "--yes", "--skip-preview"] },
    { key: "upNoChange", label: "up, no change", args: ["up", "--yes", "--skip-preview"] },
    { key: "previewNoChange", label: "preview, no change", args: ["preview"] },
] as const;
type Measurement = (typeof MEASUREMENTS)[number]["key"];

const log = (message: string) => console.log(`[start ${new Date().toISOString().slice(11, 19)}] ${message}`);
const round = (x: number) => Math.round(x * 1000) / 1000;
const spread = (values: number[]) => ({ median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)) });

/** One of the two programs: where it is, and the environment its commands run with. */
interface Subject {
    name: "floor" | "project";
    dir: string;
    env: Record<string, string>;
}

function pulumi(subject: Subject, args: string[]): void {
    execFileSync("pulumi", [...args, "--non-interactive"], { cwd: subject.dir, env: { ...process.env, ...subject.env }, stdio: "pipe" });
}

/** The empty program, next to the project's deployment so that it resolves the repository's node_modules and tsconfig. */
function floorProgram(env: Record<string, string>): Subject {
    const dir = path.join(ROOT, ".cache", DEPLOYMENT, "floor");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        YAML.stringify({ name: "floor", runtime: { name: "nodejs", options: { typescript: true } } }),
    );
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "floor", private: true, main: "index.ts" }) + "\n");
    fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({ extends: path.relative(dir, path.join(ROOT, "tsconfig.json")) }) + "\n",
    );
    fs.writeFileSync(path.join(dir, "index.ts"), "// The floor: a TypeScript program that deploys nothing.\nexport {};\n");
    const floor: Subject = { name: "floor", dir, env };
    pulumi(floor, ["stack", "init", SITE]);
    return floor;
}

/** Runs one measurement's command; a failed command fails the benchmark, with what the CLI said. */
async function timed(subject: Subject, args: readonly string[], previews: boolean): Promise<TimedRun> {
    const env = previews ? { ...subject.env, PULUMI_SKIP_CHECKPOINTS: "true" } : subject.env;
    const run = await timedPulumi(subject.dir, env, [...args, "-s", SITE]);
    if (run.exitCode !== 0) throw new Error(`pulumi ${args.join(" ")} of the ${subject.name} failed:\n${run.output.slice(-3000)}`);
    return run;
}

async function main(): Promise<void> {
    const repetitions = Number(process.env.BENCH_REPETITIONS ?? 5);
    if (!Number.isInteger(repetitions) || repetitions < 1 || repetitions > 50)
        throw new Error(`BENCH_REPETITIONS must be 1 to 50, got ${process.env.BENCH_REPETITIONS}`);
    const began = Date.now();
    log("starting the local clusters (instance bench)");
    const { clusters, started } = await startLocalClusters(INSTANCE);
    const unregister = started ? onInterrupt(() => stopLocalClusters(INSTANCE)) : () => {};
    try {
        const deployment = prepareLocalDeployment(DEPLOYMENT);
        // The pools' slots recorded, as a team commits them. Its ups carry no traffic: the underlay need not follow them.
        await recordSlots(INSTANCE, deployment.projectDir);
        const project: Subject = { name: "project", dir: deployment.projectDir, env: deployment.env };
        // What an interrupted run left in the cluster goes first: every round starts from an empty stack and namespace.
        try {
            pulumi(project, ["destroy", "--yes", "-s", SITE]);
        } catch {
            // no such stack yet
        }
        fs.rmSync(deployment.stateDir, { recursive: true, force: true });
        fs.mkdirSync(deployment.stateDir, { recursive: true });
        for (const file of fs.readdirSync(deployment.projectDir))
            if (/^Pulumi\..+\.yaml$/.test(file)) fs.rmSync(path.join(deployment.projectDir, file));
        const cluster = clusters.find((c) => c.name === SITE)!;
        pulumi(project, ["stack", "init", SITE]);
        pulumi(project, ["config", "set", "--secret", "--path", `plumr:access.${SITE}.kubeconfig`, kubeconfigPath(cluster), "-s", SITE]);
        pulumi(project, ["config", "set", "--path", `plumr:access.${SITE}.context`, cluster.name, "-s", SITE]);
        // The peer's stack exists, empty, so that the site's StackReference finds it.
        pulumi(project, ["stack", "init", PEER]);
        const subjects = [floorProgram(deployment.env), project];

        const runs: Record<string, Record<Measurement, TimedRun[]>> = {};
        for (const s of subjects) runs[s.name] = { upFromEmpty: [], upNoChange: [], previewNoChange: [] };
        // A warm-up round, discarded: the first run fills caches (the provider plugin, the gzip of the binaries).
        // Each round: both ups from empty, then each no-change command of the floor and of the project
        // side by side, with the project's objects deployed, so that both run on the same cluster
        // (its pods probe and export in the background of whatever runs next to them).
        const measure = async (round: number, subject: Subject, m: (typeof MEASUREMENTS)[number]) => {
            const run = await timed(subject, m.args, m.key === "previewNoChange");
            if (round > 0) runs[subject.name][m.key].push(run);
            log(
                `${round === 0 ? "warm-up" : `${round}/${repetitions}`} ${subject.name} ${m.label}: ${run.wallS.toFixed(2)} s (CPU ${run.cpuS.toFixed(2)} s)`,
            );
        };
        for (let round = 0; round <= repetitions; round++) {
            for (const m of MEASUREMENTS) for (const subject of subjects) await measure(round, subject, m);
            for (const subject of subjects) await timed(subject, ["destroy", "--yes"], false);
        }

        const summary = Object.fromEntries(
            subjects.map((s) => [
                s.name,
                Object.fromEntries(
                    MEASUREMENTS.map((m) => [
                        m.key,
                        { wallS: spread(runs[s.name][m.key].map((r) => r.wallS)), cpuS: spread(runs[s.name][m.key].map((r) => r.cpuS)) },
                    ]),
                ),
            ]),
        ) as Record<"floor" | "project", Record<Measurement, { wallS: ReturnType<typeof spread>; cpuS: ReturnType<typeof spread> }>>;
        const ratios = Object.fromEntries(
            MEASUREMENTS.map((m) => [
                m.key,
                {
                    wall: round(summary.project[m.key].wallS.median / summary.floor[m.key].wallS.median),
                    cpu: round(summary.project[m.key].cpuS.median / summary.floor[m.key].cpuS.median),
                    beyondFloorS: round(summary.project[m.key].wallS.median - summary.floor[m.key].wallS.median),
                },
            ]),
        );
        const cpus = os.cpus();
        const report = {
            what: "what a run of the program costs beyond the same command on an empty TypeScript program, side by side",
            date: new Date().toISOString(),
            durationSeconds: Math.round((Date.now() - began) / 1000),
            machine: {
                cpuModel: cpus[0]?.model ?? "unknown",
                cpus: cpus.length,
                os: `${os.type()} ${os.release()}`,
                node: process.version,
                pulumi: versions.pulumi,
                pulumiKubernetes: versions.pulumiKubernetes,
            },
            settings: {
                repetitions,
                warmUp: "one round of every command, discarded",
                floor: "an empty TypeScript program (export {}), with the project's CLI, language host, Node.js, file backend and ts-node settings (tsconfig.json: SWC, transpile only)",
                project: `the shipped topology's ${SITE} stack on the local clusters (AWS routing none, stand-in binaries), its peer's stack empty`,
                commands: {
                    upFromEmpty:
                        "pulumi up --yes --skip-preview on an empty stack (for the project: every object created, the endpoint's Deployment ready)",
                    upNoChange: "the same again: nothing to change",
                    previewNoChange: "pulumi preview with nothing to change, PULUMI_SKIP_CHECKPOINTS=true",
                },
                order: "per round: the floor's up from empty, then the project's; then each no-change command, the floor's then the project's, both with the project's objects deployed",
                between: "pulumi destroy --yes of both after each round, not timed",
            },
            ...summary,
            ratios,
            legend: {
                wallS: "wall time of the command, seconds: median, min, max",
                cpuS: "user + system CPU of the CLI and every process under it (language host, Node.js, provider), seconds",
                ratios: "project median over floor median; beyondFloorS: the difference of the wall-time medians",
            },
        };
        fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
        const cell = (s: ReturnType<typeof spread>) => `${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
        console.log(`\nmedian (min–max) of ${repetitions} rounds:\n`);
        printTable([
            ["command", "floor", "project", "project / floor", "beyond the floor", "CPU: floor", "CPU: project"],
            ...MEASUREMENTS.map((m) => [
                m.label,
                cell(summary.floor[m.key].wallS),
                cell(summary.project[m.key].wallS),
                `×${ratios[m.key].wall.toFixed(2)}`,
                `${ratios[m.key].beyondFloorS.toFixed(2)} s`,
                `${summary.floor[m.key].cpuS.median.toFixed(2)} s`,
                `${summary.project[m.key].cpuS.median.toFixed(2)} s`,
            ]),
        ]);
        console.log(`\nwritten to ${path.relative(process.cwd(), OUT)} in ${report.durationSeconds} s`);
    } finally {
        if (started) stopLocalClusters(INSTANCE);
        unregister();
    }
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
