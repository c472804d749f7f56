/**
 * One thing wrong with the topology or the stack configuration: which field, what value it has,
 * what is wrong with it and how to fix it.
 */
export interface Problem {
    /** Path of the field, e.g. `plumr:topology.sites.ohio.nodes[0].range`. */
    field: string;
    /** The offending value as the user wrote it (undefined when the field is missing; a Hidden when it must not be shown). */
    value: unknown;
    /** What is wrong. */
    message: string;
    /** What to do about it. */
    fix: string;
    /** Where in a long text value the wrong part starts: the message shows that part rather than the beginning. */
    at?: number;
}

/**
 * What is wrong with one value, before it is known which field holds it: what, how to fix it, and
 * (for long values) the index of the first wrong character. A check returns one; its caller makes
 * it a Problem of the field.
 */
export interface Finding {
    message: string;
    fix: string;
    at?: number;
}

/** A value the messages must not show (a secret, or what may be one), and why. */
export class Hidden {
    constructor(readonly label: "secret" | "not shown") {}

    toJSON(): string {
        return `[${this.label}]`;
    }
}

/** The value of a secret configuration key: named, never shown. */
export const SECRET = new Hidden("secret");

/** Thrown before any resource is registered when the configuration cannot be deployed. */
export class ConfigError extends Error {
    constructor(public readonly problems: Problem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

/** Longest value shown in full; longer ones show the part that is wrong (or their beginning). */
const SHOWN = 80;

/** The value as the message shows it: JSON, in full when short; around `at` when long. */
export function formatValue(value: unknown, at?: number): string {
    if (value === undefined) return "(missing)";
    if (value instanceof Hidden) return `[${value.label}]`;
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    if (typeof value === "string" && value.length > SHOWN && at !== undefined && at > SHOWN / 2) {
        const start = Math.max(0, at - 30);
        const end = Math.min(value.length, at + 40);
        const part = JSON.stringify(value.slice(start, end)).slice(1, -1);
        return `"…${part}${end < value.length ? "…" : ""}" (characters ${start + 1} to ${end} of ${value.length})`;
    }
    const text = JSON.stringify(value) ?? String(value);
    return text.length > SHOWN ? `${text.slice(0, SHOWN - 3)}...` : text;
}

export function formatProblems(problems: Problem[]): string {
    const lines = problems.map((p) => `  - ${p.field} = ${formatValue(p.value, p.at)}: ${p.message}\n    fix: ${p.fix}`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    return `the plumr configuration cannot be deployed (${count}):\n${lines.join("\n")}`;
}

/** Collects problems so that a user sees every mistake in one run, not one per run. */
export class Problems {
    readonly list: Problem[] = [];

    add(field: string, value: unknown, message: string, fix: string, at?: number): void {
        this.list.push({ field, value, message, fix, ...(at !== undefined && { at }) });
    }

    /** Whether a problem was found for `field` or a field inside it. */
    has(field: string): boolean {
        return this.list.some((p) => p.field === field || p.field.startsWith(`${field}.`) || p.field.startsWith(`${field}[`));
    }

    throwIfAny(): void {
        if (this.list.length > 0) throw new ConfigError(this.list);
    }
}

/**
 * Finds values that must be unique: the second and later places holding a value are problems
 * that name the first place, so a user sees both.
 */
export class Unique {
    private readonly first = new Map<string, string>();

    constructor(
        private readonly problems: Problems,
        /** What the value is, for the message: "instance id", "route table". */
        private readonly what: string,
        private readonly fix: string,
    ) {}

    /** Records `key` at `field`; false (and a problem) when an earlier field holds it already. */
    check(key: string | undefined, field: string, value: unknown = key): boolean {
        if (key === undefined) return true;
        const first = this.first.get(key);
        if (first === undefined) {
            this.first.set(key, field);
            return true;
        }
        this.problems.add(field, value, `${first} has this ${this.what} too`, this.fix);
        return false;
    }
}
