// The keys a stack's own configuration (Pulumi.<stack>.yaml) may hold, and their shapes:
// plumr:environment, plumr:sites, plumr:access and plumr:peerStacks. What they must agree with in
// the topology is checked in program/prepare.ts. The engine hands every value to the program as text,
// JSON for lists and maps; a value that is not what the key needs is a problem whose fix is the
// command that sets it.
import { z } from "zod";
import { environmentName } from "../environments/environments";
import { Hidden, Problems, SECRET } from "../problems/errors";
import * as id from "./identifiers";
import { closest, describeValue, formatPath, parseWithProblems } from "../problems/issues";
import { checked } from "./schema";

/** The namespace of the program's configuration keys. */
export const NAMESPACE = "plumr";
/** The keys the program reads; every other `plumr:` key is a mistake. */
export const KEYS = ["topology", "environment", "sites", "access", "peerStacks"] as const;

/** How a stack reaches one site: its cluster, and its AWS account. */
export interface SiteAccess {
    /** The kubeconfig's contents, or the path of a kubeconfig file. */
    kubeconfig: string;
    /** The context in that kubeconfig (default: its current context). */
    context?: string;
    /** The AWS profile of the site's account (default: the credentials the shell provides). */
    awsProfile?: string;
    /**
     * An IAM role the site's AWS provider and the AWS CLI commands assume, from the profile's
     * credentials or the shell's (for a runner with a role to assume rather than a profile).
     */
    awsRoleArn?: string;
}

/**
 * The session name under which a site's role is assumed, so that CloudTrail shows which site's
 * deployment acted: `plumr-<site>`, cut to the 64 characters STS takes.
 */
export function awsSessionName(site: string): string {
    return `plumr-${site}`.slice(0, 64);
}

/** The stack's own settings, as written (checked for their shape only). */
export interface StackSettings {
    /** `plumr:environment`: the environment whose sites the stack deploys; undefined when not set, null when unreadable. */
    environment?: string | null;
    /** `plumr:sites`: undefined when not set, null when set but unreadable (a problem says why). */
    sites?: string[] | null;
    /** `plumr:access`, as written: a site's kubeconfig may be missing (program/prepare.ts says so). */
    access: Record<string, Partial<SiteAccess>>;
    peerStacks: Record<string, string>;
}

const siteNames = z.array(z.string().min(1)).describe("a list of site names, e.g. [ohio, mumbai]");

const singleLine = (what: string) =>
    checked((value) =>
        value.trim() === ""
            ? { message: `empty: ${what} needs a value`, fix: "write it, or remove the key" }
            : /[\r\n]/.test(value)
              ? { message: `${what} is one line; this has several`, fix: `set it to the ${what} alone` }
              : undefined,
    );

const accessSchema = z
    .record(
        z.string(),
        z
            .strictObject({
                kubeconfig: checked((value) =>
                    value.trim() === "" ? { message: "empty", fix: "set it to the kubeconfig's contents or its path" } : undefined,
                )
                    .describe("the kubeconfig's contents or its path")
                    .optional(),
                context: singleLine("context name").optional(),
                awsProfile: checked(id.awsProfileName).optional(),
                awsRoleArn: checked(id.awsRoleArn).optional(),
            })
            .describe("a map with kubeconfig, and optionally context, awsProfile and awsRoleArn"),
    )
    .describe("a map of sites, each {kubeconfig, context, awsProfile, awsRoleArn}");

const peerStacksSchema = z
    .record(z.string(), checked(id.stackName).describe("a stack name, e.g. acme/plumr/mumbai"))
    .describe("a map of sites to stack names, e.g. {mumbai: acme/plumr/mumbai}");

/** The commands that set `plumr:sites` to `names`, one entry at a time. */
export function setSitesCommands(names: string[]): string {
    const list = names.length > 0 ? names : ["<site>"];
    return list.map((name, i) => `pulumi config set --path 'plumr:sites[${i}]' ${name}`).join(" && ");
}

/** The command that sets a site's kubeconfig. */
export function setKubeconfigCommand(site: string): string {
    return `pulumi config set --secret --path 'plumr:access.${site}.kubeconfig' "$(cat <kubeconfig of ${site}>)"`;
}

/** Parses a JSON value of the stack's configuration; a problem (with `fix`) when it is not JSON. */
function parseJson(key: string, text: string, shown: unknown, fix: string, problems: Problems): { value: unknown } | undefined {
    try {
        return { value: JSON.parse(text) };
    } catch {
        problems.add(`${NAMESPACE}:${key}`, shown, "not a list or map: it was set as plain text", fix);
        return undefined;
    }
}

/** Advice for an unknown key of a site's access, by what it looks like it means. */
function accessKeyFix(parent: readonly PropertyKey[], key: string): string | undefined {
    const site = String(parent[0]);
    const meant = /profile/i.test(key)
        ? "awsProfile"
        : /role|arn/i.test(key)
          ? "awsRoleArn"
          : /kube/i.test(key)
            ? "kubeconfig"
            : /context/i.test(key)
              ? "context"
              : undefined;
    if (!meant || meant === key) return undefined;
    return `did you mean ${meant}? pulumi config rm --path 'plumr:access.${site}.${key}' && pulumi config set --secret --path 'plumr:access.${site}.${meant}' <value>`;
}

/** Advice for a `plumr:` key the program does not read. */
function unknownKeyFix(name: string, secret: boolean): string {
    const [head, ...rest] = name.split(/(?=[.[])/);
    const known = KEYS.find((k) => k === head);
    if (known === "topology" || (!known && closest(name, KEYS) === "topology")) {
        // Set in a stack (with --path or not), it would no longer be the one topology, Pulumi.yaml's, that every stack shares.
        return `the topology is shared by every stack and lives in Pulumi.yaml: pulumi config rm '${NAMESPACE}:${name}', and change it under ${NAMESPACE}:topology in Pulumi.yaml`;
    }
    if (known && rest.length > 0) {
        // `pulumi config set plumr:access.ohio.kubeconfig ...` without --path makes a key of that whole name.
        return (
            `it was set without --path, so it is a key of its own: pulumi config rm '${NAMESPACE}:${name}' && ` +
            `pulumi config set ${secret || known === "access" ? "--secret " : ""}--path '${NAMESPACE}:${name}' <value>`
        );
    }
    if (["kubeconfig", "context", "awsProfile", "awsRoleArn"].includes(name)) {
        return `it belongs to a site: pulumi config rm ${NAMESPACE}:${name} && pulumi config set --secret --path '${NAMESPACE}:access.<site>.${name}' <value>`;
    }
    const near = closest(name, KEYS);
    if (near) return `did you mean ${NAMESPACE}:${near}? pulumi config rm ${NAMESPACE}:${name}, and set ${NAMESPACE}:${near} instead`;
    if (["tunnel", "binaries", "configTemplate", "allocations", "links"].includes(name)) {
        return `it is part of the topology: move it into plumr:topology in Pulumi.yaml, and pulumi config rm ${NAMESPACE}:${name}`;
    }
    return `remove it (pulumi config rm ${NAMESPACE}:${name}): the program reads ${KEYS.map((k) => `${NAMESPACE}:${k}`).join(", ")}`;
}

/** Every `plumr:` key the program does not read is a problem; its value is not shown, as it may be a secret. */
function checkKeys(config: Record<string, string>, secretKeys: Set<string>, problems: Problems): void {
    for (const key of Object.keys(config).sort()) {
        if (!key.startsWith(`${NAMESPACE}:`)) continue;
        const name = key.slice(NAMESPACE.length + 1);
        if (!(KEYS as readonly string[]).includes(name)) {
            const secret = secretKeys.has(key) || name.startsWith("access");
            problems.add(
                key,
                new Hidden(secret ? "secret" : "not shown"),
                "unknown key: the program does not read it",
                unknownKeyFix(name, secret),
            );
        }
    }
}

/** `plumr:environment`: null when it is not an environment's name. */
function readEnvironment(text: string, problems: Problems): string | null {
    const finding = environmentName(text);
    if (!finding) return text;
    problems.add(
        "plumr:environment",
        text,
        finding.message,
        `${finding.fix}: it is the name of a directory under environments/, and stacks of the environment are named <environment>-<site>`,
        finding.at,
    );
    return null;
}

/** `plumr:sites`: null when it is not a list of names. `sites` are the sites the fix may name. */
function readSites(text: string, sites: string[], problems: Problems): string[] | null {
    // The names it was meant to hold: its words that are sites (any word that could be one, while no site is known).
    const words = [...new Set(text.split(/[^A-Za-z0-9._-]+/).filter(Boolean))];
    const named =
        sites.length > 0
            ? words.filter((w) => sites.includes(w))
            : words.filter((w) => !id.dnsLabel(w, "", 63) && !["null", "true", "false"].includes(w));
    const fix = `set it as a list: pulumi config rm plumr:sites && ${setSitesCommands(named.length > 0 ? named : sites)}`;
    const parsed = parseJson("sites", text, text, fix, problems);
    if (!parsed) return null;
    if (!Array.isArray(parsed.value)) {
        problems.add("plumr:sites", parsed.value, `expected a list of site names, found ${describeValue(parsed.value)}`, fix);
        return null;
    }
    return parseWithProblems(siteNames, { root: "plumr:sites", raw: parsed.value }, problems) ?? null;
}

/**
 * `plumr:access`: empty when it is not a map of sites. Every value but a role's ARN is a secret, so none is shown;
 * a site whose entry is not a map is reported once, and left out of the rest of the checks.
 */
function readAccess(text: string, sites: string[], problems: Problems): Record<string, Partial<SiteAccess>> {
    const fix =
        "set each site's kubeconfig with --path: pulumi config rm plumr:access && " +
        (sites.length > 0 ? sites : ["<site>"]).map(setKubeconfigCommand).join(" && ");
    const parsed = parseJson("access", text, SECRET, fix, problems);
    if (!parsed) return {};
    const raw = parsed.value;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        problems.add("plumr:access", SECRET, `expected a map of sites, found ${describeValue(raw)}`, fix);
        return {};
    }
    for (const [site, entry] of Object.entries(raw)) {
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            problems.add(
                formatPath([site], "plumr:access"),
                SECRET,
                `expected a map with kubeconfig, and optionally context, awsProfile and awsRoleArn; found ${describeValue(entry)}`,
                `set it with --path: pulumi config rm --path 'plumr:access.${site}' && ${setKubeconfigCommand(site)}`,
            );
            delete (raw as Record<string, unknown>)[site];
        }
    }
    // Every value is shown hidden but a role's ARN, which is no secret and is the value to fix.
    const secret = (at: readonly PropertyKey[]) => at[1] !== "awsRoleArn";
    return parseWithProblems(accessSchema, { root: "plumr:access", raw, secret, unknownKey: accessKeyFix }, problems) ?? {};
}

/** `plumr:peerStacks`: empty when it is not a map of sites to stack names. */
function readPeerStacks(text: string, problems: Problems): Record<string, string> {
    const fix =
        "set each peer site's stack with --path: pulumi config rm plumr:peerStacks && pulumi config set --path 'plumr:peerStacks.<site>' <organization>/<project>/<stack>";
    const parsed = parseJson("peerStacks", text, text, fix, problems);
    if (!parsed) return {};
    if (parsed.value === null || typeof parsed.value !== "object" || Array.isArray(parsed.value)) {
        problems.add("plumr:peerStacks", parsed.value, `expected a map of sites to stack names, found ${describeValue(parsed.value)}`, fix);
        return {};
    }
    return parseWithProblems(peerStacksSchema, { root: "plumr:peerStacks", raw: parsed.value }, problems) ?? {};
}

/**
 * Reads the stack's own keys from the configuration (`plumr:<key>` → text) and checks their
 * shape. `sites` are the sites the fixes name (the stack's, as far as they are known).
 */
export function parseStackSettings(
    config: Record<string, string>,
    secretKeys: Set<string>,
    sites: string[],
    problems: Problems,
): StackSettings {
    checkKeys(config, secretKeys, problems);
    const settings: StackSettings = { access: {}, peerStacks: {} };
    const environmentText = config[`${NAMESPACE}:environment`];
    if (environmentText !== undefined) settings.environment = readEnvironment(environmentText, problems);
    const sitesText = config[`${NAMESPACE}:sites`];
    if (sitesText !== undefined) settings.sites = readSites(sitesText, sites, problems);
    const accessText = config[`${NAMESPACE}:access`];
    if (accessText !== undefined) settings.access = readAccess(accessText, sites, problems);
    const peersText = config[`${NAMESPACE}:peerStacks`];
    if (peersText !== undefined) settings.peerStacks = readPeerStacks(peersText, problems);
    return settings;
}
