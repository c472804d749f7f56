// npm run bench:configerror: how long `pulumi preview` takes to fail on a configuration error.
//
//   empty          a program that does nothing but throw a RunError at its top level: what any
//                  failed preview costs (CLI, language host, Node.js, ts-node, the SDK);
//   config error   this program with a bad topology (links[0].ends[0].address in no slot of its
//                  site's pool): the planner's message;
//   program load   a program that loads this one's modules (program/deploy.ts and everything it
//                  imports), then throws like the empty one: what loading the program costs.
//
// A configuration error fails before any resource is registered, so no cluster is needed: each
// project runs the toolchain's CLI and language host with a local file backend, in a temporary
// directory under .cache (removed at the end). The three are run in turn, RUNS times each after a
// warm-up round; wall time per run, and CPU time (user + system of the CLI and every process under
// it, from bash's `times`). Results go to bench/configerror.json; medians, minimum and maximum are
// printed.
//
//   npm run bench:configerror
//   BENCH_REPETITIONS=3 npx ts-node --transpile-only bench/benchConfigError.ts
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import versions from "../dev/toolchain/versions.json";
import { median } from "./stats";
import { printTable } from "../lib/table";
import {
    BAD_ADDRESS,
    configErrorProjects,
    EMPTY_MESSAGE,
    LOAD_MESSAGE,
    PLANNER_MESSAGE,
    PreviewRun,
    timedPreview,
} from "../dev/local/configErrorProjects";

const ROOT = path.join(__dirname, "..");
const OUT = path.join(ROOT, "bench", "configerror.json");

interface Stats {
    median: number;
    min: number;
    max: number;
}
const round = (x: number) => Math.round(x * 1000) / 1000;
const stats = (values: number[]): Stats => ({
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
});
const cell = (s: Stats, unit = " s") => `${s.median.toFixed(2)}${unit} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

async function main(): Promise<void> {
    const runs = Number(process.env.BENCH_REPETITIONS ?? 5);
    if (!Number.isInteger(runs) || runs < 1 || runs > 50)
        throw new Error(`BENCH_REPETITIONS must be 1 to 50, got ${process.env.BENCH_REPETITIONS}`);
    const log = (message: string) => console.log(`[configerror ${new Date().toISOString().slice(11, 19)}] ${message}`);
    const began = Date.now();
    log("making the projects");
    const projects = configErrorProjects();
    const kinds = [
        { key: "empty", label: "empty program", dir: projects.empty, expect: new RegExp(EMPTY_MESSAGE) },
        { key: "configError", label: "config error", dir: projects.configError, expect: PLANNER_MESSAGE },
        { key: "programLoad", label: "program load", dir: projects.programLoad, expect: new RegExp(LOAD_MESSAGE) },
    ] as const;
    const results: Record<string, PreviewRun[]> = { empty: [], configError: [], programLoad: [] };
    try {
        // Round 0 warms the caches and is not counted; each round runs the three in turn, so that
        // a slow spell of the (shared) machine falls on all of them.
        for (let pass = 0; pass <= runs; pass++) {
            for (const kind of kinds) {
                const run = await timedPreview(projects, kind.dir);
                if (run.exitCode === 0 || !kind.expect.test(run.output))
                    throw new Error(`the ${kind.label} preview did not fail as expected (exit ${run.exitCode}):\n${run.output}`);
                if (pass > 0) results[kind.key].push(run);
                log(
                    `${pass === 0 ? "warm-up" : `run ${pass}/${runs}`}: ${kind.label} ${run.wallS.toFixed(2)} s (cpu ${run.cpuS.toFixed(2)} s)`,
                );
            }
        }
    } finally {
        projects.cleanup();
    }

    const summary = (key: string) => ({
        runs: results[key].map((r) => ({ wallS: round(r.wallS), cpuS: round(r.cpuS) })),
        wallS: stats(results[key].map((r) => r.wallS)),
        cpuS: stats(results[key].map((r) => r.cpuS)),
    });
    // Ratios run by run (the runs of one round were made one after the other), then their median.
    const ratio = (a: string, b: string) => ({
        wall: stats(results[a].map((r, i) => r.wallS / results[b][i].wallS)),
        cpu: stats(results[a].map((r, i) => r.cpuS / results[b][i].cpuS)),
    });
    const cpus = os.cpus();
    const report = {
        what: "how long pulumi preview takes to fail on a configuration error, next to a program that only fails",
        date: new Date().toISOString(),
        durationSeconds: Math.round((Date.now() - began) / 1000),
        machine: {
            cpus: cpus.length,
            model: cpus[0]?.model,
            memoryGiB: Math.round(os.totalmem() / 2 ** 30),
            node: process.version,
            pulumi: versions.pulumi,
        },
        repetitions: runs,
        how:
            "pulumi preview with the toolchain's CLI and language host, a local file backend, no cluster, PULUMI_NODEJS_TRANSPILE_ONLY " +
            "and PULUMI_SKIP_CHECKPOINTS as the project's previews run; a warm-up round, then rounds of the three in turn; " +
            "wall time per run; cpu = user + system of the CLI and every process under it (bash times)",
        programs: {
            empty: "a program whose index.ts throws a RunError at its top level",
            configError: `this program, with the shipped topology's links[0].ends[0].address set to ${BAD_ADDRESS} (in no slot of its site's pool)`,
            programLoad: "a program whose index.ts imports this one's program/deploy.ts, then throws a RunError at its top level",
        },
        empty: summary("empty"),
        configError: summary("configError"),
        programLoad: summary("programLoad"),
        ratios: {
            configErrorOverEmpty: ratio("configError", "empty"),
            configErrorOverProgramLoad: ratio("configError", "programLoad"),
        },
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");

    console.log(`\nmedian (min–max) over ${runs} runs each:\n`);
    printTable([
        ["program", "wall", "cpu"],
        ...kinds.map((k) => [k.label, cell(report[k.key].wallS), cell(report[k.key].cpuS)]),
        ["config error / empty", cell(report.ratios.configErrorOverEmpty.wall, ""), cell(report.ratios.configErrorOverEmpty.cpu, "")],
        [
            "config error / program load",
            cell(report.ratios.configErrorOverProgramLoad.wall, ""),
            cell(report.ratios.configErrorOverProgramLoad.cpu, ""),
        ],
    ]);
    console.log(`\nwritten to ${path.relative(process.cwd(), OUT)} in ${report.durationSeconds} s`);
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
