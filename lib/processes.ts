// Long-running local processes (control planes, node daemons, relays) tracked by pid files, so
// that a later command can find, reuse or stop what an earlier one started.
import { spawn } from "child_process";
import * as fs from "fs";

/** Whether a process runs. A zombie (exited, not yet reaped by its parent) does not. */
export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

/** The pid in `pidFile` when that process is still running. */
export function runningPid(pidFile: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(pidFile, "utf8"));
        return pid > 0 && alive(pid) ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** Starts `command` detached from this process, its output appended to `logFile`, its pid in `pidFile`. */
export function startDetached(
    command: string,
    args: string[],
    pidFile: string,
    logFile: string,
    env?: NodeJS.ProcessEnv,
    cwd?: string,
): number {
    const out = fs.openSync(logFile, "a");
    const child = spawn(command, args, { detached: true, stdio: ["ignore", out, out], env: env ?? process.env, cwd });
    fs.closeSync(out);
    if (!child.pid) throw new Error(`could not start ${command} (log: ${logFile})`);
    fs.writeFileSync(pidFile, String(child.pid));
    child.unref();
    return child.pid;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Blocks the whole process for `ms`: for waits inside signal handlers, where nothing async runs. */
export function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Polls `check` every `intervalMs` until it returns a value; fails after `timeoutMs` with the last
 * error, or at once when `hopeless` says why waiting longer cannot help.
 */
export async function waitFor<T>(
    what: string,
    timeoutMs: number,
    check: () => Promise<T | undefined>,
    intervalMs = 500,
    hopeless: () => string | undefined = () => undefined,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        const reason = hopeless();
        if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (err) {
            last = err;
        }
        await sleep(intervalMs);
    }
    throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${last instanceof Error ? last.message : last}` : ""}`,
    );
}

/** Sends SIGTERM, and SIGKILL when the process is still there after `graceMs`. Synchronous, for signal handlers too. */
export function stopPid(pid: number, graceMs = 20_000): void {
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    for (const deadline = Date.now() + graceMs; Date.now() < deadline && alive(pid);) sleepSync(50);
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        // exited
    }
}
