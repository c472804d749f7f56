// How commands/plumr runs a command: commands/cli.ts under ts-node, in a process group of its own,
// passed every SIGINT, SIGTERM and SIGHUP this process gets, so that the command stops promptly
// even in a synchronous step. Node.js runs a signal's handler only between steps: while the
// command waits for a synchronous child (execFileSync), its handler waits for that child, which
// may take minutes, or for ever. The command answers a signal at once (a byte on fd 3, see
// answerSignals in cli.ts); when no answer comes, it is waiting for such a child, and the signal
// goes to its process group too, which ends that child; a child that ignores it is killed a few
// seconds later. The command then runs its handler: it cleans up, says in one line what it
// stopped, and exits 128 + the signal. Whatever it leaves running in its group is ended then.
// Exits as the command did. Plain JavaScript, so that it starts in a few milliseconds.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** How long the command has to answer a signal before its children get it too. */
const ANSWER_MS = 300;
/** How long those children have to end before they are killed. */
const KILL_AFTER_MS = 3000;

const ROOT = path.join(__dirname, "..");
const tsNode = require.resolve("ts-node/dist/bin", { paths: [ROOT] });
const command = spawn(process.execPath, [tsNode, "--transpile-only", path.join(__dirname, "cli.ts"), ...process.argv.slice(2)], {
    stdio: ["inherit", "inherit", "inherit", "pipe"],
    env: { ...process.env, PLUMR_ANSWER_FD: "3" },
    // A process group of its own (a session, in Node.js's terms): its children can be signalled together.
    detached: true,
});

let answers = 0;
let exited = false;
let stopping = false;
command.stdio[3].on("data", (chunk) => (answers += chunk.length));

/** The processes of the command's group but the command itself: the children it started and did not place elsewhere. */
function children() {
    const pids = [];
    // Linux's /proc; elsewhere the command's children are left to its own handling.
    const entries = fs.existsSync("/proc") ? fs.readdirSync("/proc") : [];
    for (const entry of entries) {
        if (!/^\d+$/.test(entry) || Number(entry) === command.pid) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // pid (comm) state ppid pgrp ...: comm may hold spaces, so count from its closing parenthesis.
            const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
            if (pgrp === command.pid) pids.push(Number(entry));
        } catch {
            // gone already
        }
    }
    return pids;
}

function kill(pid, signal) {
    try {
        process.kill(pid, signal);
    } catch {
        // gone already
    }
}

/** Passes `signal` to the command; to its children too when it does not answer. */
function pass(signal) {
    stopping = true;
    const before = answers;
    kill(command.pid, signal);
    setTimeout(() => {
        if (exited || answers > before) return;
        const blocking = children();
        for (const pid of blocking) kill(pid, signal);
        setTimeout(() => {
            if (exited || answers > before) return;
            for (const pid of blocking) kill(pid, "SIGKILL");
        }, KILL_AFTER_MS).unref();
    }, ANSWER_MS).unref();
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => pass(signal));

// npx runs this through a shell of its own, which a SIGTERM to npx ends without passing it on: this
// process then has another parent, and stops the command as the SIGTERM would have.
const parent = process.ppid;
const orphaned = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(orphaned);
    pass("SIGTERM");
}, 200);
orphaned.unref();

command.on("exit", (code, signal) => {
    exited = true;
    clearInterval(orphaned);
    // A child left behind may hold the answers' pipe open: it says nothing more.
    command.stdio[3].destroy();
    // A stopped command leaves nothing running: what is left in its group is ended.
    if (stopping) {
        kill(-command.pid, "SIGTERM");
        const deadline = Date.now() + KILL_AFTER_MS;
        const sweep = setInterval(() => {
            if (children().length === 0) clearInterval(sweep);
            else if (Date.now() > deadline) {
                kill(-command.pid, "SIGKILL");
                clearInterval(sweep);
            }
        }, 50);
    }
    process.exitCode = code ?? 128 + os.constants.signals[signal];
});
command.on("error", (err) => {
    console.error(`plumr: could not start the command: ${err.message}`);
    process.exitCode = 1;
});
