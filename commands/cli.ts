// plumr <command> [options]: every user command through one entry point. commands/plumr runs this
// (npx plumr, and the npm scripts: npm run <command>), under commands/supervisor.js; each command is
// commands/<command>.ts, loaded only when it runs.
import * as fs from "fs";
import { constants } from "os";
import { EXIT_CODES, runCommand, type Command } from "../lib/commandLine";

/** The commands, each with what it does in a line, and how to load it. */
const COMMANDS: Record<string, { does: string; load: () => Promise<{ command: Command }> }> = {
    allocate: { does: "record every link's addresses and port in the allocations file", load: () => import("./allocate") },
    stacks: { does: "the stacks the workflow previews and deploys, as JSON", load: () => import("./stacks") },
    preflight: { does: "check a stack's configuration and its clusters before any change", load: () => import("./preflight") },
    verify: { does: "check every link end a deployed stack runs", load: () => import("./verify") },
    discover: { does: "what a stack's clusters (and AWS) have now, as the topology's YAML", load: () => import("./discover") },
    demo: { does: "the shipped topology on two local clusters, its link proven by traffic", load: () => import("./demo") },
};

const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
const USAGE = `usage: plumr <command> [options]
       npm run <command> -- [options]

Commands:
${Object.entries(COMMANDS)
    .map(([name, { does }]) => `  ${name.padEnd(width)}   ${does}`)
    .join("\n")}

plumr <command> --help shows a command's options.

${EXIT_CODES}`;

/**
 * Tells commands/supervisor.js at once that a signal arrived: this process then runs its handler
 * and needs no more help. (While it waits for a synchronous child, no handler runs, and no answer
 * comes: the supervisor then stops that child.) Registered first, so it runs before any handler
 * that exits. A signal that comes before the command has said how it stops (or one it does not
 * handle) stops the process here, as it would have without this listener.
 */
function answerSignals(name: string | undefined): void {
    const fd = Number(process.env.PLUMR_ANSWER_FD);
    delete process.env.PLUMR_ANSWER_FD;
    const supervised = Number.isInteger(fd) && fd >= 3;
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(signal, () => {
            try {
                if (supervised) fs.writeSync(fd, "!");
            } catch {
                // the supervisor is gone: nobody to tell
            }
            if (process.listenerCount(signal) > 1) return;
            console.error(`${signal}: plumr ${name ?? ""} stopped: run it again`.replace("  ", " "));
            process.exit(128 + constants.signals[signal]);
        });
    }
}

async function main(args: string[]): Promise<void> {
    const [name, ...rest] = args;
    answerSignals(name);
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        if (name === undefined) {
            console.error(USAGE);
            process.exit(2);
        }
        console.log(USAGE);
        return;
    }
    const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!entry) {
        console.error(`plumr: no command ${name}\n\n${USAGE}`);
        process.exit(2);
    }
    await runCommand((await entry.load()).command, rest);
}

void main(process.argv.slice(2));
