// One Pulumi CLI command of a local project, timed: its wall time, and the CPU time of the CLI and
// every process under it (bash's `times`). Shared by the benchmarks of the program's start and of
// a failing configuration.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** One run's bound: far above what any of the benchmarks' commands takes, even on a busy machine. */
const RUN_TIMEOUT_MS = 600_000;

export interface TimedRun {
    exitCode: number | null;
    /** What the CLI printed, stdout and stderr. */
    output: string;
    wallS: number;
    /** User + system CPU of the CLI and every process under it. */
    cpuS: number;
}

/** Runs `pulumi <args> --non-interactive --color never` in `cwd` with `env` over the process's environment, timed. */
export function timedPulumi(cwd: string, env: Record<string, string>, args: string[]): Promise<TimedRun> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-timed-"));
    const log = path.join(dir, "output.log");
    // bash's `times` prints the CPU time of the finished children (and theirs) on its second line.
    const script = 'pulumi "$@" --non-interactive --color never >"$LOG" 2>&1; status=$?; times; exit $status';
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn("bash", ["-c", script, "bash", ...args], { cwd, env: { ...process.env, ...env, LOG: log } });
        let times = "";
        child.stdout.on("data", (d) => (times += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
        child.on("error", reject);
        child.on("close", (exitCode) => {
            clearTimeout(timer);
            const wallS = Number(process.hrtime.bigint() - started) / 1e9;
            const output = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
            fs.rmSync(dir, { recursive: true, force: true });
            const children = times
                .trim()
                .split("\n")[1]
                ?.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
            if (!children) return reject(new Error(`pulumi ${args.join(" ")} in ${cwd} was stopped after ${wallS.toFixed(0)} s`));
            const cpuS = 60 * Number(children[1]) + Number(children[2]) + 60 * Number(children[3]) + Number(children[4]);
            resolve({ exitCode, output, wallS, cpuS });
        });
    });
}
