// Running a program as a container runs it: as PID 1 of a PID namespace of its own, where a signal
// left at its default action is ignored. For the tests of what pods run (the pause process, the
// default workload command, the stand-ins): they must stop at once on SIGTERM even there.
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";

export const isRoot = () => process.getuid?.() === 0;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The child processes of `pid`, zombies included (they stay listed until reaped). */
export const childrenOf = (pid: number): number[] =>
    fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number);

export async function eventually<T>(what: string, value: () => T | undefined, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const found = value();
        if (found !== undefined) return found;
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await sleep(50);
    }
}

/** How a process ended, or a failure when it is still running after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: string | null }> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms later`)), timeoutMs);
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal });
        });
    });
}

/** Runs a program as PID 1 of a new PID namespace, as a container runs; `pid` is its PID here. Root only. */
export async function startAsPid1(command: string[], env?: NodeJS.ProcessEnv): Promise<{ unshare: ChildProcess; pid: number }> {
    const unshare = spawn("unshare", ["--pid", "--fork", "--kill-child", ...command], { stdio: "ignore", env: env ?? process.env });
    const pid = await eventually("the namespace's first process", () =>
        unshare.exitCode === null ? childrenOf(unshare.pid!)[0] : undefined,
    );
    return { unshare, pid };
}

/** Checks that a program keeps running, then signals it: how it ended, within a second. */
export async function stop(child: ChildProcess, pid = child.pid!, signal: NodeJS.Signals = "SIGTERM") {
    await sleep(300);
    assert.strictEqual(child.exitCode, null, "it keeps running until it is told to stop");
    process.kill(pid, signal);
    return exited(child, 1_000);
}
