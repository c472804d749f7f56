// Turns what the schema library finds into problems in the project's own words: the field, the
// value, what is wrong and a fix a user can follow literally. No wording of the library (its type
// names, its "Invalid input") reaches a message.
import { z } from "zod";
import { Hidden, Problems } from "./errors";

type Path = readonly PropertyKey[];
type Schema = z.core.$ZodType;

/** Renders a path under `root` as the user writes it: `plumr:topology` and [sites, ohio, nodes, 0] give `plumr:topology.sites.ohio.nodes[0]`. */
export function formatPath(path: Path, root: string): string {
    return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`), root);
}

/** The value at `path` of what the user wrote (undefined where there is none). */
export function valueAt(raw: unknown, path: Path): unknown {
    let value: any = raw;
    for (const key of path) {
        if (value === null || typeof value !== "object" || !Object.hasOwn(value, key as string)) return undefined;
        value = value[key as any];
    }
    return value;
}

const def = (schema: Schema): any => (schema as any)._zod.def;

/** The schema under optional / default wrappers, and whether the field may be left out. */
function unwrap(schema: Schema): { inner: Schema; optional: boolean; description?: string } {
    let inner = schema;
    let optional = false;
    let description: string | undefined = (schema as any).description;
    while (["optional", "default", "prefault", "nullable"].includes(def(inner).type)) {
        optional = true;
        inner = def(inner).innerType;
        description ??= (inner as any).description;
    }
    return { inner, optional, description };
}

/** The schema of the field at `path`, if the path leads anywhere in `schema`. */
export function schemaAt(schema: Schema, path: Path): Schema | undefined {
    let current: Schema | undefined = schema;
    for (const key of path) {
        if (!current) return undefined;
        const d = def(unwrap(current).inner);
        if (d.type === "object") current = d.shape[key as string];
        else if (d.type === "array") current = d.element;
        else if (d.type === "tuple") current = typeof key === "number" ? d.items[key] : undefined;
        else if (d.type === "record") current = d.valueType;
        else current = undefined;
    }
    return current;
}

/** Every key the schema knows, with the paths it may appear at (`<name>` for a map's keys, `[]` for a list's entries). */
export function keyPlaces(schema: Schema): Map<string, string[][]> {
    const places = new Map<string, string[][]>();
    const walk = (s: Schema, at: string[]) => {
        const d = def(unwrap(s).inner);
        if (d.type === "object") {
            for (const [key, child] of Object.entries<Schema>(d.shape)) {
                places.set(key, [...(places.get(key) ?? []), [...at, key]]);
                walk(child, [...at, key]);
            }
        } else if (d.type === "array") walk(d.element, [...at, "[]"]);
        else if (d.type === "tuple") walk(d.items[0], [...at, "[]"]);
        else if (d.type === "record") walk(d.valueType, [...at, "<name>"]);
    };
    walk(schema, []);
    return places;
}

/** The plain words for a kind of value: what a field expects, or what the user wrote. */
function kindOf(expected: string): string {
    switch (expected) {
        case "string":
            return "text";
        case "number":
            return "a number";
        case "int":
            return "a whole number";
        case "boolean":
            return "true or false";
        case "array":
        case "tuple":
            return "a list";
        case "record":
        case "object":
        case "map":
            return "a map of keys and values";
        default:
            return "something else";
    }
}

/** What the user wrote, in plain words. */
export function describeValue(value: unknown): string {
    if (value === null) return "an empty value";
    if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
    if (typeof value === "string") return value === "" ? "empty text" : "text";
    if (typeof value === "number") return Number.isInteger(value) ? "a number" : "a number with a fraction";
    if (typeof value === "boolean") return "true or false";
    if (typeof value === "object") return "a map of keys and values";
    return typeof value;
}

/**
 * Edits between two names, for "did you mean": insertions, deletions, substitutions and swaps of
 * two neighbouring letters (the optimal string alignment distance), so that regoin is one edit
 * from region.
 */
function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) =>
        Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
    );
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** The known name closest to `name` (same but for case, or a typo away), if any. */
export function closest(name: string, known: readonly string[]): string | undefined {
    const lower = name.toLowerCase();
    const same = known.find((k) => k.toLowerCase() === lower);
    if (same) return same;
    const scored = known
        .map((k) => [k, distance(lower, k.toLowerCase())] as const)
        .filter(([k, d]) => d <= Math.max(1, Math.floor(k.length / 4)));
    return scored.sort((x, y) => x[1] - y[1])[0]?.[0];
}

export interface IssueContext {
    schema: Schema;
    /** The root of every field name: `plumr:topology`, `plumr:access`... */
    root: string;
    /** What the user wrote. */
    raw: unknown;
    /** Values under these paths are secret: shown as [secret]. */
    secret?: (path: Path) => boolean;
    /** Extra advice for an unknown key at `path` (its parent) named `key`, if there is any. */
    unknownKey?: (parent: Path, key: string) => string | undefined;
}

/** Fills a key place (`sites.<name>.aws.region`) with the names and indexes of `parent` where they line up. */
function placeFor(place: string[], parent: Path): string {
    const filled = place.map((segment, i) => {
        const mine = parent[i];
        if (segment === "[]") return mine !== undefined && typeof mine === "number" ? mine : "[]";
        if (segment === "<name>") return mine !== undefined && typeof mine === "string" ? mine : "<name>";
        return segment;
    });
    return filled.reduce<string>((acc, key) => {
        if (typeof key === "number") return `${acc}[${key}]`;
        if (key === "[]") return `${acc}[i]`;
        return acc ? `${acc}.${key}` : key;
    }, "");
}

/** Advice for an unknown key: a typo of a key of the same map, or a key that belongs elsewhere. */
function unknownKeyFix(context: IssueContext, parent: Path, key: string): string {
    const special = context.unknownKey?.(parent, key);
    if (special) return special;
    const here = schemaAt(context.schema, parent);
    const siblings = here && def(unwrap(here).inner).type === "object" ? Object.keys(def(unwrap(here).inner).shape) : [];
    const typo = closest(key, siblings);
    if (typo) return `did you mean ${typo}? Rename it to ${typo}`;
    const elsewhere = keyPlaces(context.schema).get(key);
    if (elsewhere && elsewhere.length > 0) {
        const places = [...new Set(elsewhere.map((place) => placeFor(place, parent)))];
        return `${key} belongs at ${places.slice(0, 3).join(" or ")}: move it there`;
    }
    return `remove it, or correct its spelling: docs/CONFIGURATION.md lists every key${
        siblings.length > 0 ? ` (here: ${siblings.join(", ")})` : ""
    }`;
}

function quoted(values: readonly unknown[]): string {
    return values.map((v) => JSON.stringify(v)).join(", ");
}

/**
 * Adds one problem per issue `schema` finds in `raw`. Returns the parsed value when there is
 * none, else undefined.
 */
export function parseWithProblems<T>(schema: z.ZodType<T>, context: Omit<IssueContext, "schema">, problems: Problems): T | undefined {
    const result = schema.safeParse(context.raw);
    if (result.success) return result.data;
    const ctx: IssueContext = { ...context, schema };
    for (const issue of result.error.issues) addIssue(ctx, issue, problems);
    return undefined;
}

/** What the schema expects where an issue is, and what the user wrote there. */
interface IssuePlace {
    field: string;
    value: unknown;
    missing: boolean;
    innerType: string | undefined;
    description: string | undefined;
    /** Added to a fix where the key may be left out. */
    orDefault: string;
}

/** What a problem says: what is wrong, the fix, and where in the value it starts. */
interface Complaint {
    message: string;
    fix: string;
    at?: number;
}

function placeOf(context: IssueContext, path: Path): IssuePlace {
    const value = valueAt(context.raw, path);
    const schema = schemaAt(context.schema, path);
    const { inner, optional, description } = schema ? unwrap(schema) : { inner: undefined, optional: false, description: undefined };
    return {
        field: formatPath(path, context.root),
        value,
        missing: value === undefined,
        innerType: inner ? def(inner).type : undefined,
        description,
        orDefault: optional ? ", or remove the key to use the default" : "",
    };
}

/** A value as a problem shows it: a secret one hidden. */
type Shown = (path: Path, value: unknown) => unknown;

function addUnknownKeys(context: IssueContext, issue: z.core.$ZodIssueUnrecognizedKeys, shown: Shown, problems: Problems): void {
    for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.add(
            formatPath(path, context.root),
            shown(path, valueAt(context.raw, path)),
            "unknown key",
            unknownKeyFix(context, issue.path, key),
        );
    }
}

/** A bad name in a map (a site name): reports the name itself and the naming rule. */
function addInvalidKey(root: string, issue: z.core.$ZodIssueInvalidKey, problems: Problems): void {
    const key = issue.path[issue.path.length - 1];
    const nested = issue.issues[0] as any;
    const fix = nested?.params?.fix ?? "rename it";
    problems.add(formatPath(issue.path, root), key, nested?.message ?? "not a valid name", fix, nested?.params?.at);
}

function invalidType(issue: z.core.$ZodIssueInvalidType, place: IssuePlace): Complaint {
    const { value, innerType, description, orDefault } = place;
    const expected = description ?? kindOf(innerType === "tuple" ? "tuple" : issue.expected);
    if (place.missing) return { message: "required, but missing", fix: `add it: ${expected}` };
    const unquoted = typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
    if ((issue.expected === "number" || issue.expected === "int") && Number.isFinite(unquoted)) {
        return { message: `expected ${kindOf(issue.expected)}, found text`, fix: `write it without quotes: ${unquoted}` };
    }
    if (issue.expected === "int" && typeof value === "number") {
        return {
            message: "expected a whole number",
            fix: Number.isFinite(value) ? `write a whole number, e.g. ${Math.round(value)}` : "write a whole number",
        };
    }
    return { message: `expected ${expected}, found ${describeValue(value)}`, fix: `write it as ${expected}${orDefault}` };
}

function invalidValue(issue: z.core.$ZodIssueInvalidValue, place: IssuePlace): Complaint {
    const choices = quoted(issue.values);
    if (place.missing) return { message: "required, but missing", fix: `add it: one of ${choices}` };
    const near = typeof place.value === "string" ? closest(place.value, issue.values.map(String)) : undefined;
    return {
        message: `not one of ${choices}`,
        fix: near !== undefined ? `did you mean ${JSON.stringify(near)}? Use one of ${choices}` : `use one of ${choices}`,
    };
}

function tooSmall(issue: z.core.$ZodIssueTooSmall, place: IssuePlace): Complaint {
    const min = Number(issue.minimum);
    if (issue.origin === "string") return { message: "empty", fix: `write ${place.description ?? "a value"}${place.orDefault}` };
    if (issue.origin === "array") {
        const count = Array.isArray(place.value) ? place.value.length : 0;
        if (place.innerType === "tuple") return { message: `needs exactly ${min} entries, has ${count}`, fix: `give exactly ${min}` };
        return { message: `has ${count === 0 ? "no entries" : `${count} entries`}; at least ${min} needed`, fix: `list at least ${min}` };
    }
    return { message: `must be at least ${min}`, fix: `use ${min} or more` };
}

function tooBig(issue: z.core.$ZodIssueTooBig, place: IssuePlace): Complaint {
    const { field } = place;
    const max = Number(issue.maximum);
    if (issue.origin === "string")
        return { message: `longer than ${max} characters`, fix: `shorten it to ${max} characters or fewer`, at: max };
    if (issue.origin === "array") {
        const count = Array.isArray(place.value) ? place.value.length : 0;
        const extra = Array.from({ length: count - max }, (_, i) => `${field.slice(field.lastIndexOf(".") + 1)}[${max + i}]`);
        if (place.innerType === "tuple")
            return { message: `needs exactly ${max} entries, has ${count}`, fix: `remove ${extra.join(", ")}` };
        return { message: `has ${count} entries; at most ${max}`, fix: `remove ${count - max}` };
    }
    return { message: `must be at most ${max}`, fix: `use ${max} or less` };
}

/** What to say about an issue other than a bad key, in the project's words. */
function complaintAbout(issue: z.core.$ZodIssue, place: IssuePlace): Complaint {
    switch (issue.code) {
        case "invalid_type":
            return invalidType(issue, place);
        case "invalid_value":
            return invalidValue(issue, place);
        case "too_small":
            return tooSmall(issue, place);
        case "too_big":
            return tooBig(issue, place);
        case "custom": {
            const params = (issue.params ?? {}) as { fix?: string; at?: number };
            return { message: issue.message, fix: params.fix ?? "see docs/CONFIGURATION.md", at: params.at };
        }
        default:
            return {
                message: `not valid here: expected ${place.description ?? kindOf(place.innerType ?? "")}`,
                fix: "see docs/CONFIGURATION.md",
            };
    }
}

function addIssue(context: IssueContext, issue: z.core.$ZodIssue, problems: Problems): void {
    const shown: Shown = (path, value) => (context.secret?.(path) && value !== undefined ? new Hidden("secret") : value);
    if (issue.code === "unrecognized_keys") return addUnknownKeys(context, issue, shown, problems);
    if (issue.code === "invalid_key") return addInvalidKey(context.root, issue, problems);
    const place = placeOf(context, issue.path);
    const { message, fix, at } = complaintAbout(issue, place);
    // A rule about a map's key (a site's name): the value shown is the name.
    const aboutKey = issue.code === "custom" && (issue.params as { key?: boolean } | undefined)?.key;
    const value = aboutKey ? issue.path[issue.path.length - 1] : shown(issue.path, place.value);
    problems.add(place.field, value, message, fix, at);
}
