// Commands that create network namespaces, mounts, cgroups, processes or temporary files register
// here how to remove them, so that a run stopped by Ctrl-C, SIGTERM or SIGHUP leaves nothing behind
// for the next one. A user command (lib/commandLine.ts) also says, in one line, what was stopped
// and how to resume.
import { constants } from "os";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** A signal that stops a command. */
export type StopSignal = (typeof SIGNALS)[number];

const cleanups: (() => void)[] = [];
/** The one line a stopped command says, once stopOnSignal has set it. */
let stopLine: ((signal: StopSignal) => string) | undefined;

/** What a command that handles signals itself says when a registered cleanup stops it (describeStop). */
let cleanupLine: ((signal: StopSignal) => string) | undefined;

function onSignal(signal: StopSignal): void {
    const line = stopLine ?? cleanupLine;
    if (!line) console.error(`\n${signal}: cleaning up before exiting`);
    // Newest first: what was made last may depend on what was made before it.
    for (const cleanup of cleanups.splice(0).reverse()) {
        try {
            cleanup();
        } catch (err) {
            console.error(`cleanup after ${signal} failed: ${err instanceof Error ? err.message : err}`);
        }
    }
    if (line) console.error(line(signal));
    process.exit(128 + constants.signals[signal]);
}

const listeners = Object.fromEntries(SIGNALS.map((s) => [s, () => onSignal(s)]));
let listening = false;

function listen(on: boolean): void {
    if (on === listening) return;
    for (const s of SIGNALS) (on ? process.on : process.off).call(process, s, listeners[s]);
    listening = on;
}

/**
 * Runs `cleanup` (synchronously) if the process is interrupted by SIGINT, SIGTERM or SIGHUP, then
 * exits as the signal would have. Returns a function that unregisters it once the work is undone
 * the normal way. While nothing is registered, signals are left to the process's own handling.
 */
export function onInterrupt(cleanup: () => void): () => void {
    cleanups.push(cleanup);
    listen(true);
    return () => {
        const i = cleanups.indexOf(cleanup);
        if (i >= 0) cleanups.splice(i, 1);
        listen(cleanups.length > 0 || stopLine !== undefined);
    };
}

/**
 * From now on, SIGINT, SIGTERM and SIGHUP stop the process: the registered cleanups run, then it
 * says `line(signal)` (one line: what was stopped, how to resume) on stderr and exits 128 + the
 * signal's number (130 for SIGINT, 143 for SIGTERM).
 */
export function stopOnSignal(line: (signal: StopSignal) => string): void {
    stopLine = line;
    listen(true);
}

/**
 * For a command that stops on signals itself (the demo): the one line it says when a signal comes
 * while a cleanup is registered (onInterrupt), which then runs the cleanups and exits. Signals are
 * otherwise left to the command, as before.
 */
export function describeStop(line: (signal: StopSignal) => string): void {
    cleanupLine = line;
}
