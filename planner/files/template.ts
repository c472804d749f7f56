import type * as Jsonc from "jsonc-parser";
import type * as Yaml from "yaml";
import type { Finding } from "../problems/errors";

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

/**
 * The placeholders that make the two ends of a link differ: a template without one of them gives
 * both ends the same value there. What each is, for the message, and where it goes in the shipped template.
 */
export const REQUIRED_PLACEHOLDERS = {
    LOCAL_IP: { same: "local underlay address", example: '"local_address": "{{LOCAL_IP}}"' },
    REMOTE_IP: { same: "remote address, so neither finds the other", example: '"remote_address": "{{REMOTE_IP}}"' },
    TUN_IP: { same: "tunnel address", example: '"address": "{{TUN_IP}}" under "tun"' },
} as const satisfies Partial<Record<Placeholder, { same: string; example: string }>>;

/** 1-based line and column of `offset` in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
    const before = text.slice(0, offset);
    const lineStart = before.lastIndexOf("\n") + 1;
    return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

/** The template's line holding `offset`, trimmed and shortened, for a message. */
function lineAt(text: string, offset: number): string {
    const start = text.lastIndexOf("\n", offset - 1) + 1;
    const end = text.indexOf("\n", offset);
    const line = text.slice(start, end === -1 ? text.length : end).trim();
    return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}

const PLACEHOLDER_LIKE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Double braces that do not make a placeholder: a `{{` never closed (`{{LOCAL_IP}`), or a `}}`
 * after a placeholder-like name never opened (`{LOCAL_IP}}`, `LOCAL_IP}}`). A `}}` after anything
 * else closes two JSON or YAML objects. Returns the placeholder names they seem to mean, too.
 */
function unbalancedBraces(template: string): { findings: Finding[]; meant: Set<string> } {
    // Blank out every placeholder (keeping offsets), so that only the braces around none are left.
    const rest = template.replace(PATTERN, (match) => match.replace(/[^\n]/g, " "));
    const found: { offset: number; fragment: string; name?: string; opens: boolean }[] = [];
    for (const match of rest.matchAll(/\{\{/g)) {
        const fragment = /^\{\{[ \t]*[^{}\s"',]{0,40}[ \t]*\}?/.exec(rest.slice(match.index))![0];
        const name = /^\{\{\s*([A-Za-z0-9_-]+)\s*\}?$/.exec(fragment)?.[1];
        found.push({ offset: match.index, fragment, name, opens: true });
    }
    for (const match of rest.matchAll(/(\{?)[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\}\}/g)) {
        if (!PLACEHOLDER_LIKE.test(match[2])) continue;
        found.push({ offset: match.index, fragment: match[0], name: match[2], opens: false });
    }
    found.sort((x, y) => x.offset - y.offset);
    const meant = new Set(found.flatMap((f) => (f.name ? [f.name] : [])));
    const findings = found.map(({ offset, fragment, name, opens }) => {
        const where = `line ${lineAndColumn(template, offset).line} has ${JSON.stringify(fragment.trim())}`;
        return {
            message: opens
                ? `${where}: it opens a placeholder with {{ but does not close it with }}, so it would be left in the config as it is`
                : `${where}: it closes a placeholder with }} that was not opened with {{, so it would be left in the config as it is`,
            fix: name && isPlaceholder(name) ? `write it {{${name}}}` : "write placeholders as {{NAME}}, with two braces on each side",
        };
    });
    return { findings, meant };
}

/** The rendered text, and where each of its offsets comes from in the template (a filled placeholder: its start). */
function renderMapped(template: string, values: TemplateValues): { text: string; templateOffset: (offset: number) => number } {
    const pieces: { rendered: number; template: number; length: number; verbatim: boolean }[] = [];
    let text = "";
    let last = 0;
    for (const match of template.matchAll(PATTERN)) {
        const value = String(values[match[1] as Placeholder]);
        pieces.push({ rendered: text.length, template: last, length: match.index - last, verbatim: true });
        text += template.slice(last, match.index);
        pieces.push({ rendered: text.length, template: match.index, length: value.length, verbatim: false });
        text += value;
        last = match.index + match[0].length;
    }
    pieces.push({ rendered: text.length, template: last, length: template.length - last, verbatim: true });
    text += template.slice(last);
    const templateOffset = (offset: number): number => {
        const piece = pieces.find((p) => offset < p.rendered + p.length) ?? pieces[pieces.length - 1];
        return piece.verbatim ? piece.template + Math.min(offset - piece.rendered, piece.length) : piece.template;
    };
    return { text, templateOffset };
}

/** A JSON syntax error: where (an offset into the text) and what, in words a user can act on. */
interface JsonError {
    offset: number;
    message: string;
}

/** What is at `offset` in the template, for a message: the placeholder that starts there, or the character. */
function describeAt(template: string, offset: number): string {
    const placeholder = new RegExp(PATTERN.source, "y");
    placeholder.lastIndex = offset;
    const match = placeholder.exec(template);
    if (match) return match[0];
    const c = template[offset];
    return c === undefined ? "the end of the file" : c === "\n" || c === "\r" ? "the end of the line" : JSON.stringify(c);
}

/** What each of jsonc-parser's error codes means, in words a user can act on. */
const JSON_ERRORS: Record<string, string> = {
    InvalidSymbol: "not a JSON value; a string needs double quotes around it",
    InvalidNumberFormat: "not a JSON number",
    PropertyNameExpected: "a property name in double quotes is expected",
    ValueExpected: "a value is missing",
    ColonExpected: "a colon (:) is missing after the property name",
    CommaExpected: "a comma is missing between two values",
    CloseBraceExpected: "the object's closing } is missing",
    CloseBracketExpected: "the list's closing ] is missing",
    EndOfFileExpected: "more text after the end of the JSON value",
    InvalidCommentToken: "a comment, which JSON does not allow",
    UnexpectedEndOfComment: "a comment, which JSON does not allow",
    UnexpectedEndOfString: "a string is not closed on its line (a missing double quote)",
    UnexpectedEndOfNumber: "a number is cut short",
    InvalidUnicode: "an invalid \\u escape in a string",
    InvalidEscapeCharacter: 'an invalid escape (a backslash not followed by one of " \\ / b f n r t u) in a string',
    InvalidCharacter: "a control character (such as a tab) inside a string; write it as an escape, e.g. \\t",
};

/**
 * Where a JSON text's first syntax error is, and what it is, in words a user can act on; undefined
 * when JSON.parse accepts the text. JSON.parse decides; jsonc-parser (strict: no comments, no
 * trailing commas) finds the place, which JSON.parse gives, if at all, in words that change
 * between Node versions.
 */
export function jsonSyntaxError(text: string): JsonError | undefined {
    try {
        JSON.parse(text);
        return undefined;
    } catch (err) {
        // Loaded only for a template that is not JSON: a run with a good one never needs it.
        const jsonc: typeof Jsonc = require("jsonc-parser");
        const errors: Jsonc.ParseError[] = [];
        jsonc.parse(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
        const first = errors[0];
        if (!first) return { offset: 0, message: `JSON.parse rejects it: ${(err as Error).message}` };
        const comma = /,\s*$/.exec(text.slice(0, first.offset));
        if (comma && "}]".includes(text[first.offset] ?? "")) {
            const object = text[first.offset] === "}";
            return {
                offset: comma.index,
                message: `a trailing comma after the ${object ? "object" : "list"}'s last ${object ? "member" : "element"}, which JSON does not allow`,
            };
        }
        if (text[first.offset] === "'")
            return { offset: first.offset, message: "a string in single quotes; JSON strings take double quotes" };
        return { offset: first.offset, message: JSON_ERRORS[jsonc.printParseErrorCode(first.error)] ?? "not JSON here" };
    }
}

/** The template's format by its file name: what its rendered config must parse as. */
export function templateFormat(fileName: string): "json" | "yaml" | undefined {
    const lower = fileName.toLowerCase();
    if (lower.endsWith(".json")) return "json";
    if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
    return undefined;
}

/** The first YAML error of a text, with the offset where it starts. */
function yamlSyntaxError(text: string): { offset: number; message: string } | undefined {
    // Loaded only for a YAML template: most runs never need it.
    const YAML: typeof Yaml = require("yaml");
    const error = YAML.parseDocument(text).errors[0];
    if (!error) return undefined;
    // The parser's message ends with a position in the rendered text and a copy of its line: the caller says where in the template.
    return { offset: error.pos[0], message: error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "") };
}

/**
 * Checks a template's text beyond its placeholders' names: every `{{` and `}}` belongs to a
 * placeholder, the placeholders that make the two ends differ are used, and, for a `.json` or
 * `.yaml`/`.yml` file, the config rendered with `values` parses. `unknownPlaceholders` reports
 * unknown names; when there are any, the rendered text is not checked.
 */
export function checkTemplateText(template: string, fileName: string, values: TemplateValues): Finding[] {
    const findings: Finding[] = [];
    const unbalanced = unbalancedBraces(template);
    findings.push(...unbalanced.findings);
    const used = new Set([...template.matchAll(PATTERN)].map((m) => m[1]));
    for (const [name, { same, example }] of Object.entries(REQUIRED_PLACEHOLDERS)) {
        if (used.has(name) || unbalanced.meant.has(name)) continue;
        findings.push({
            message: `does not use {{${name}}} (${PLACEHOLDERS[name as Placeholder]}): without it both ends of every link get the same config there, the same ${same}`,
            fix: `put {{${name}}} where plumr's config takes ${PLACEHOLDERS[name as Placeholder]}, e.g. ${example} as in plumr/config.template.json`,
        });
    }
    const format = templateFormat(fileName);
    if (!format || unbalanced.findings.length > 0 || unknownPlaceholders(template).length > 0) return findings;
    const { text, templateOffset } = renderMapped(template, values);
    const error = format === "json" ? jsonSyntaxError(text) : yamlSyntaxError(text);
    if (error) {
        const offset = templateOffset(error.offset);
        const { line, column } = lineAndColumn(template, offset);
        findings.push({
            message: `is not valid ${format === "json" ? "JSON" : "YAML"} once its placeholders are filled: line ${line}, column ${column}, at ${describeAt(template, offset)}: ${error.message} (the line is: ${lineAt(template, offset)})`,
            fix:
                `correct line ${line} of ${fileName}` +
                (format === "json"
                    ? '; put string placeholders in double quotes ("{{LOCAL_IP}}") and number placeholders bare ({{MTU}})'
                    : "; quote a value that holds a colon or starts with a special character") +
                `, and check that the file is ${format === "json" ? "JSON" : "YAML"} (or rename it if it is another format)`,
        });
    }
    return findings;
}
