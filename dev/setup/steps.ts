// The demo's steps, timed: a line as each starts, with the time since the run began and how long
// it took on this machine last time; a heartbeat every 30 s while a long one runs; a summary of
// every step's time at the end. The times are kept in .cache/step-times.json, so "last time" is
// this machine's own.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** How often a running step says it is still running. */
const HEARTBEAT_MS = 30_000;

/** A duration as people read it: 45s, 6m10s, 1h02m. */
export function duration(ms: number): string {
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A step stopped by a signal: the run ends there, saying what it stopped and how to resume. */
export class Stopped extends Error {
    constructor(
        readonly step: string,
        readonly signal: string,
    ) {
        super(`${signal}: stopped while ${step}`);
    }
}

/** The steps of one run, timed. */
export class Steps {
    private readonly began = Date.now();
    private readonly done: { name: string; ms: number }[] = [];
    private current?: { name: string; at: number };
    private readonly last: Record<string, number>;

    constructor(
        private readonly timesFile: string,
        private readonly say: (line: string) => void = (line) => console.log(line),
        private readonly heartbeatMs = HEARTBEAT_MS,
    ) {
        try {
            this.last = JSON.parse(fs.readFileSync(timesFile, "utf8"));
        } catch {
            this.last = {};
        }
    }

    /** Starts step `name`, ending the one before. */
    start(name: string): void {
        this.end();
        const usual = this.last[name] !== undefined ? ` (${duration(this.last[name])} last time)` : "";
        this.say(`\n==> [${duration(Date.now() - this.began)}] ${name}${usual}`);
        this.current = { name, at: Date.now() };
    }

    /** Ends the current step, keeping its time. */
    end(): void {
        if (!this.current) return;
        const ms = Date.now() - this.current.at;
        this.done.push({ name: this.current.name, ms });
        this.last[this.current.name] = ms;
        this.current = undefined;
        try {
            fs.mkdirSync(path.dirname(this.timesFile), { recursive: true });
            fs.writeFileSync(this.timesFile, JSON.stringify(this.last, null, 2) + "\n");
        } catch {
            // times not kept: the next run only says less
        }
    }

    /** The name of the step that runs now. */
    get running(): string | undefined {
        return this.current?.name;
    }

    /**
     * Runs `command` as step `name`, its output passed through, with a heartbeat every 30 s. A
     * SIGINT, SIGTERM or SIGHUP of this process goes to the command; the step then ends with Stopped.
     */
    run(name: string, command: string, args: string[], cwd: string): Promise<void> {
        this.start(name);
        return new Promise((resolve, reject) => {
            const child = spawn(command, args, { cwd, stdio: "inherit" });
            let stoppedBy: string | undefined;
            const forward = (signal: NodeJS.Signals) => () => {
                stoppedBy = signal;
                child.kill(signal);
            };
            const handlers = { SIGINT: forward("SIGINT"), SIGTERM: forward("SIGTERM"), SIGHUP: forward("SIGHUP") };
            for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
            const started = Date.now();
            const heartbeat = setInterval(() => {
                const usual = this.last[name] !== undefined ? `, ${duration(this.last[name])} last time` : "";
                this.say(`[${name}: ${duration(Date.now() - started)} so far${usual}]`);
            }, this.heartbeatMs);
            child.on("exit", (code, signal) => {
                clearInterval(heartbeat);
                for (const [s, handler] of Object.entries(handlers)) process.off(s, handler);
                if (stoppedBy || signal) {
                    this.current = undefined;
                    reject(new Stopped(name, stoppedBy ?? signal!));
                } else if (code !== 0) {
                    this.current = undefined;
                    reject(new Error(`${name} failed (${command} ${args.join(" ")} exited ${code}): see its output above`));
                } else {
                    this.end();
                    resolve();
                }
            });
        });
    }

    /** Ends the current step and prints each step's time, and the whole run's. */
    summary(): void {
        this.end();
        if (this.done.length === 0) return;
        const width = Math.max(...this.done.map((s) => s.name.length));
        this.say("\n==> time per step");
        for (const step of this.done) this.say(`  ${step.name.padEnd(width)}  ${duration(step.ms)}`);
        this.say(`  ${"the whole run".padEnd(width)}  ${duration(Date.now() - this.began)}`);
    }
}
