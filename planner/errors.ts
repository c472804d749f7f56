/**
 * One thing wrong with the topology or the stack configuration: which field, what value it has,
 * what is wrong with it and how to fix it.
 */
export interface Problem {
    /** Path of the field, e.g. `plumr:topology.sites.ohio.nodes[0].range`. */
    field: string;
    /** The offending value as the user wrote it (undefined when the field is missing). */
    value: unknown;
    /** What is wrong. */
    message: string;
    /** What to do about it. */
    fix: string;
}

/** Thrown before any resource is registered when the configuration cannot be deployed. */
export class ConfigError extends Error {
    constructor(public readonly problems: Problem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

function formatValue(value: unknown): string {
    if (value === undefined) return "(missing)";
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function formatProblems(problems: Problem[]): string {
    const lines = problems.map((p) => `  - ${p.field} = ${formatValue(p.value)}: ${p.message}\n    fix: ${p.fix}`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    return `the plumr configuration cannot be deployed (${count}):\n${lines.join("\n")}`;
}

/** Collects problems so that a user sees every mistake in one run, not one per run. */
export class Problems {
    readonly list: Problem[] = [];

    add(field: string, value: unknown, message: string, fix: string): void {
        this.list.push({ field, value, message, fix });
    }

    throwIfAny(): void {
        if (this.list.length > 0) throw new ConfigError(this.list);
    }
}
