// The command line of every user command (plumr <command>, npm run <command>), read one way: strictly,
// with node:util's parseArgs. --help prints the command's usage and exits 0 before anything else
// runs; an unknown option, an option without its value or an argument the command does not take
// exits 2 with the usage on stderr, before anything is read or written. A command that fails
// exits 1; one stopped by a signal 128 + the signal's number (lib/interrupts.ts).
import { parseArgs, type ParseArgsConfig } from "util";
import { ConfigError } from "../planner/problems/errors";
import { stopOnSignal } from "./interrupts";

/** What every command's usage ends with. */
export const EXIT_CODES =
    "Exit codes: 0 ok, 1 the check failed or the command could not run, 2 usage (a wrong option or argument), 130/143 stopped by Ctrl-C/SIGTERM.";

/** A command's options, as parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig["options"]>;

/** A command line that is not the command's: the command's usage follows the message. */
export class UsageError extends Error {}

/** How a command is called. */
export interface CommandLine {
    /** The command's name: `plumr <name>`, `npm run <name>`. */
    name: string;
    /** Its usage, without the exit codes (added to it). */
    usage: string;
    /** Its options, as parseArgs takes them (--help and -h are every command's). */
    options: Options;
    /** How many arguments that are not options it takes at most (default none). */
    positionals?: number;
}

/** What a command line said: its options' values, and its other arguments. */
export interface Parsed {
    values: Record<string, string | boolean | undefined>;
    positionals: string[];
}

/** The usage of `line`, as --help prints it. */
export const usageOf = (line: CommandLine) => `${line.usage.trimEnd()}\n\n${EXIT_CODES}`;

/** Reads `args` strictly; `help` when they ask for the usage. Throws UsageError. */
export function parse(line: CommandLine, args: string[]): Parsed | "help" {
    const asksHelp = args.slice(0, args.includes("--") ? args.indexOf("--") : undefined).some((a) => a === "--help" || a === "-h");
    let parsed: Parsed;
    try {
        parsed = parseArgs({
            args,
            options: { ...line.options, help: { type: "boolean", short: "h" } },
            strict: true,
            allowPositionals: (line.positionals ?? 0) > 0,
        }) as Parsed;
    } catch (err) {
        if (asksHelp) return "help";
        // parseArgs says how to fix it in its own words ("To specify a positional argument starting
        // with a '-', place it at the end of the command after '--'"); the usage says it for this command.
        throw new UsageError((err instanceof Error ? err.message : String(err)).replace(/\. To specify .*$/s, ""));
    }
    if (parsed.values.help) return "help";
    const most = line.positionals ?? 0;
    if (parsed.positionals.length > most)
        throw new UsageError(
            `unexpected argument '${parsed.positionals[most]}': ${most === 0 ? "it takes none" : `it takes at most ${most}`}`,
        );
    return parsed;
}

/** Exits 2, saying why and the usage on stderr. */
export function usageFailure(line: CommandLine, message: string): never {
    console.error(`plumr ${line.name}: ${message}\n\n${usageOf(line)}`);
    process.exit(2);
}

/** Reads `args` for `line`: the usage on stdout and exit 0 for --help, the usage on stderr and exit 2 for a wrong command line. */
export function readCommandLine(line: CommandLine, args: string[]): Parsed {
    let parsed: Parsed | "help";
    try {
        parsed = parse(line, args);
    } catch (err) {
        usageFailure(line, err instanceof Error ? err.message : String(err));
    }
    if (parsed === "help") {
        process.stdout.write(`${usageOf(line)}\n`);
        process.exit(0);
    }
    return parsed;
}

/** A user command: its command line, what it does, and what it says when a signal stops it. */
export interface Command {
    line: CommandLine;
    /** Runs the command; resolves to its exit code. Throws UsageError for a command line it cannot take. */
    run(parsed: Parsed): Promise<number> | number;
    /**
     * The end of the one line said when Ctrl-C or SIGTERM stops the command: what it leaves and how
     * to resume. Undefined for a command that handles signals itself.
     */
    stopped?: string;
}

/**
 * Runs `command` on `args`: reads the command line (exits 0 or 2 there), stops on a signal with
 * one line (`stopped`), and exits 1 with the error's message when the command throws.
 */
export async function runCommand(command: Command, args: string[]): Promise<void> {
    const { line } = command;
    const parsed = readCommandLine(line, args);
    if (command.stopped !== undefined) stopOnSignal((signal) => `${signal}: plumr ${line.name} stopped; ${command.stopped}`);
    try {
        const code = await command.run(parsed);
        await signalsHandled();
        process.exitCode = code;
    } catch (err) {
        // A signal that came during a synchronous step (its child ended by it, and so this error) stops the command first.
        await signalsHandled();
        if (err instanceof UsageError) usageFailure(line, err.message);
        console.error(err instanceof ConfigError ? err.message : `plumr ${line.name}: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
    }
}

/**
 * Lets a signal that came while the process was blocked run its handler now: Node.js handles it in
 * the event loop's next poll, which a process with nothing left to wait for never reaches.
 */
const signalsHandled = () => new Promise((resolve) => setImmediate(resolve));

/** The value of a string option, or undefined. */
export const stringOf = (parsed: Parsed, option: string): string | undefined => {
    const value = parsed.values[option];
    return typeof value === "string" ? value : undefined;
};
