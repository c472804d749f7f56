// Commands that create network namespaces, mounts, cgroups or processes register here how to
// remove them, so that a run stopped by Ctrl-C or SIGTERM leaves nothing behind for the next one.
import { constants } from "os";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const cleanups: (() => void)[] = [];

function onSignal(signal: (typeof SIGNALS)[number]): void {
    console.error(`\n${signal}: cleaning up before exiting`);
    // Newest first: what was made last may depend on what was made before it.
    for (const cleanup of cleanups.splice(0).reverse()) {
        try {
            cleanup();
        } catch (err) {
            console.error(`cleanup after ${signal} failed: ${err instanceof Error ? err.message : err}`);
        }
    }
    process.exit(128 + constants.signals[signal]);
}

const listeners = Object.fromEntries(SIGNALS.map((s) => [s, () => onSignal(s)]));

/**
 * Runs `cleanup` (synchronously) if the process is interrupted by SIGINT, SIGTERM or SIGHUP, then
 * exits as the signal would have. Returns a function that unregisters it once the work is undone
 * the normal way. While nothing is registered, signals are left to the process's own handling.
 */
export function onInterrupt(cleanup: () => void): () => void {
    if (cleanups.length === 0) for (const s of SIGNALS) process.on(s, listeners[s]);
    cleanups.push(cleanup);
    return () => {
        const i = cleanups.indexOf(cleanup);
        if (i >= 0) cleanups.splice(i, 1);
        if (cleanups.length === 0) for (const s of SIGNALS) process.off(s, listeners[s]);
    };
}
