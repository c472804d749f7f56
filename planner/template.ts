/**
 * The plumr config format is Steinwurf's and is not public, so users bring a template of their own
 * and the program fills in what it computes. Placeholders are written `{{NAME}}`.
 */
export const PLACEHOLDERS = {
    LINK: "name of the link",
    LOCAL_IP: "this end's underlay address (the pod's net1 address)",
    REMOTE_IP: "the other end's underlay address",
    LOCAL_PORT: "UDP port plumr listens on at this end",
    REMOTE_PORT: "UDP port of the other end",
    TUN_NAME: "name of the tun device",
    TUN_IP: "this end's tunnel address",
    TUN_PREFIX: "prefix length of the tunnel subnet (30 or 31)",
    REMOTE_TUN_IP: "the other end's tunnel address",
    MTU: "MTU of the tun device",
} as const;

export type Placeholder = keyof typeof PLACEHOLDERS;
export type TemplateValues = Record<Placeholder, string | number>;

// Anything between double braces is a placeholder, so a misspelt one is reported, never left in.
const PATTERN = /\{\{\s*([^{}]*?)\s*\}\}/g;

function isPlaceholder(name: string): name is Placeholder {
    return Object.hasOwn(PLACEHOLDERS, name);
}

/** A placeholder the program does not know, with the line it is on. */
export interface UnknownPlaceholder {
    name: string;
    line: number;
}

export function unknownPlaceholders(template: string): UnknownPlaceholder[] {
    const found: UnknownPlaceholder[] = [];
    for (const match of template.matchAll(PATTERN)) {
        if (!isPlaceholder(match[1])) {
            const line = template.slice(0, match.index).split("\n").length;
            found.push({ name: match[1], line });
        }
    }
    return found;
}

/** Fills every placeholder. The template must have passed `unknownPlaceholders` first. */
export function renderTemplate(template: string, values: TemplateValues): string {
    return template.replace(PATTERN, (_, name: string) => {
        if (!isPlaceholder(name)) throw new Error(`unknown placeholder {{${name}}}`);
        return String(values[name]);
    });
}
