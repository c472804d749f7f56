// What users do to the configurations they are given, as fast-check arbitraries: mutations of the
// shipped topologies and of a stack's own keys, described as data (so that a failing case shrinks
// to the fewest, simplest edits), and the contract every outcome must meet: a plan, or a
// ConfigError in the user's words whose every problem names a field of what the user wrote.
import * as assert from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, Hidden, Problem } from "../../planner/problems/errors";
import { formatPath, schemaAt } from "../../planner/problems/issues";
import { topologySchema } from "../../planner/topology/schema";
import { exampleFile, readTopologyFile, shippedTopology } from "../../lib/topologyFile";

const ROOT = path.join(__dirname, "..", "..");

/** A shipped configuration: a topology and the allocations file that goes with it. */
export interface Base {
    name: string;
    topology: any;
    allocations: string;
}

/**
 * The topologies users start from: Pulumi.yaml's (its sites pools), the pinned example and the two
 * four-site examples, and the local demo stacks' (Pulumi.yaml's made local as
 * dev/local/localStacks.ts does: no AWS routing, local images; its paths stay relative to the
 * project here).
 */
export function shippedConfigurations(): Base[] {
    const repoAllocations = fs.readFileSync(path.join(ROOT, "plumr", "allocations.json"), "utf8");
    const example = (name: string): Base => {
        const dir = path.dirname(exampleFile(name));
        const topology = readTopologyFile(exampleFile(name));
        return { name: `examples/${name}`, topology, allocations: fs.readFileSync(path.join(dir, "allocations.json"), "utf8") };
    };
    const local = shippedTopology();
    for (const site of Object.values<any>(local.sites)) {
        if (site.aws) site.aws = { region: site.aws.region, routing: "none" };
        site.sidecarImage = "plumr.local/tools:000000000000";
        site.workload = { ...site.workload, image: "plumr.local/tools:000000000000" };
    }
    local.binaries.installerImage = "plumr.local/installer:000000000000";
    return [
        { name: "Pulumi.yaml", topology: shippedTopology(), allocations: repoAllocations },
        example("pinned"),
        example("hub-and-spoke"),
        example("full-mesh"),
        { name: "local demo stacks", topology: local, allocations: repoAllocations },
    ];
}

// ---------------------------------------------------------------------------------------------
// Paths into JSON values

export type Key = string | number;
export type Path = Key[];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Every path in `value`, the root (`[]`) first. */
export function allPaths(value: unknown, at: Path = []): Path[] {
    const paths: Path[] = [at];
    if (Array.isArray(value)) value.forEach((v, i) => paths.push(...allPaths(v, [...at, i])));
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) paths.push(...allPaths(v, [...at, k]));
    return paths;
}

function containerAt(root: unknown, path: Path): unknown {
    let value: any = root;
    for (const key of path) {
        if (Array.isArray(value) ? typeof key !== "number" || key >= value.length : !isObject(value) || !Object.hasOwn(value, key)) {
            return undefined;
        }
        value = value[key];
    }
    return value;
}

/** The value at `path`, if there is one. */
export function getAt(root: unknown, path: Path): { value: unknown } | undefined {
    if (path.length === 0) return { value: root };
    const parent = containerAt(root, path.slice(0, -1));
    const key = path[path.length - 1];
    if (Array.isArray(parent) && typeof key === "number" && key < parent.length) return { value: parent[key] };
    if (isObject(parent) && typeof key === "string" && Object.hasOwn(parent, key)) return { value: parent[key] };
    return undefined;
}

/** Sets the value at `path` when its parent exists (a list takes an index up to its length). */
function setAt(root: any, path: Path, value: unknown): any {
    if (path.length === 0) return value;
    const parent = containerAt(root, path.slice(0, -1));
    const key = path[path.length - 1];
    if (Array.isArray(parent) && typeof key === "number" && key <= parent.length) parent[key] = value;
    else if (isObject(parent) && typeof key === "string") parent[key] = value;
    return root;
}

function deleteAt(root: any, path: Path): void {
    const parent = containerAt(root, path.slice(0, -1));
    const key = path[path.length - 1];
    if (Array.isArray(parent) && typeof key === "number") parent.splice(key, 1);
    else if (isObject(parent) && typeof key === "string") delete parent[key];
}

/** Renames a key of a map in place, keeping the keys' order (a rename onto another key replaces it). */
function renameKey(map: Record<string, unknown>, from: string, to: string): void {
    if (!Object.hasOwn(map, from) || from === to) return;
    const entries = Object.entries(map).filter(([k]) => k !== to);
    for (const k of Object.keys(map)) delete map[k];
    for (const [k, v] of entries) map[k === from ? to : k] = v;
}

// ---------------------------------------------------------------------------------------------
// Values

/** Text users write by mistake: near misses, wrong kinds, odd characters, malformed and overlapping ranges. */
const ODD_TEXT = [
    "",
    " ",
    "ohio ",
    " ohio",
    "Ohio",
    "OHIO",
    "ohio.east",
    "ohio_east",
    "-ohio",
    "ohio-",
    "two words",
    "line\nbreak",
    "tab\there",
    "ünïcödé",
    "日本",
    "💥",
    "x".repeat(41),
    "y".repeat(64),
    "z".repeat(300),
    "5000",
    "1452",
    "30",
    "true",
    "yes",
    "~",
    "-",
    ".",
    "..",
    "/",
    "a/b",
    "$(id)",
    "{{LINK}}",
    "*",
    "10.10.0.0/16",
    "10.10.1.0/24",
    "10.10.1.0/23",
    "10.10.1.5/24",
    "10.10.1.0",
    "10.10.1.0/33",
    "10.10.1.0/-1",
    "10.10.1.0/ 24",
    "010.10.1.0/24",
    "256.1.1.0/24",
    "10.10.1",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "10.4.0.0/30",
    "10.4.0.0/31",
    "10.4.0.4/30",
    "10.4.0.2/30",
    "10.4.0.0/16",
    "10.0.0.0/16",
    "10.1.0.0/16",
    "fe80::/64",
    "::1",
    "10.10.1.200",
    "10.10.1.1",
    "10.10.1.255",
    "10.20.1.200",
    "10.4.0.1",
    "i-0a1",
    "vpc-",
    "rtb-x",
    "subnet-x",
    "sg-x",
    "tgw-x",
    "us-east-2",
    "us-east-2a",
    "busybox",
    "docker.io/library/busybox:1.36",
    "UPPER/case:tag",
    "image:tag:tag",
    "@sha256:abc",
    "/var/lib/plumr/bin",
    "/etc",
    "/usr/local",
    "relative/dir",
    "/var//lib",
    "/var/lib/../etc",
    "~/bin",
];

/** Any value of any kind, biased to what users get wrong. JSON has no NaN, undefined or Infinity, so neither has this. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ODD_TEXT) },
    {
        weight: 3,
        arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 1.5, -0.5, 65535, 65536, 1e21, 2 ** 53 + 2, [], {}, [1, 2], {
            a: 1,
        }),
    },
    { weight: 1, arbitrary: fc.integer({ min: -100_000, max: 100_000 }) },
    { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom<unknown>("a", 1, null, "ohio"), { maxLength: 3 }) },
    {
        weight: 1,
        arbitrary: fc.dictionary(fc.constantFrom("a", "name", "site", "port", "range"), fc.constantFrom<unknown>("x", 1, null), {
            maxKeys: 2,
        }),
    },
);

const dnsLabel = (max: number) =>
    fc.stringMatching(new RegExp(`^[a-z0-9]([-a-z0-9]{0,${max - 2}}[a-z0-9])?$`)).filter((s) => s.length <= max);
const nodeName = fc
    .stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?){0,3}$/)
    .filter((s) => s.length <= 63);
const interfaceName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/).filter((s) => s !== "." && s !== "..");
const imageReference = fc.oneof(
    fc.constantFrom(
        "busybox",
        "docker.io/library/busybox:1.36",
        "quay.io/dosmith/fedora-vlc-iptools:gen2",
        "registry.example.com:5000/team/plumr-tools:v1.2.3",
        `ghcr.io/acme/tools@sha256:${"a".repeat(64)}`,
        `localhost/tools:1@sha256:${"0123456789abcdef".repeat(4)}`,
    ),
    fc
        .tuple(dnsLabel(20), dnsLabel(20), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/))
        .map(([registry, repo, tag]) => `${registry}.example.com/${repo}:${tag}`),
);

/** Values a key may validly have, by the key's name: what a user changes on purpose. */
const VALID: Record<string, fc.Arbitrary<unknown>> = {
    platform: fc.constantFrom("openshift", "kubernetes"),
    sidecar: fc.constantFrom("native", "legacy"),
    attachment: fc.constantFrom("bridge", "macvlan"),
    routing: fc.constantFrom("transitGateway", "none"),
    prefixLength: fc.constantFrom(30, 31),
    port: fc.integer({ min: 1, max: 65535 }),
    mtu: fc.integer({ min: 68, max: 1452 }),
    underlayMtu: fc.integer({ min: 576, max: 9001 }),
    protocolOverhead: fc.integer({ min: 0, max: 200 }),
    device: interfaceName,
    bridgeName: interfaceName,
    macvlanMaster: interfaceName,
    metricsName: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/).filter((s) => s !== "." && s !== ".."),
    hostPath: fc.constantFrom("/var/lib/plumr/bin", "/opt/plumr", "/usr/local/plumr/bin", "/var/lib/plumr-2/bin", "/home/core/plumr"),
    installerImage: imageReference,
    image: imageReference,
    sidecarImage: imageReference,
    namespace: dnsLabel(63).filter((s) => !/^(kube|openshift)(-|$)|^default$/.test(s)),
    command: fc.array(fc.string({ unit: "grapheme", maxLength: 20 }), { maxLength: 4 }),
    args: fc.array(fc.string({ unit: "grapheme", maxLength: 20 }), { maxLength: 4 }),
    terminationGracePeriodSeconds: fc.integer({ min: 0, max: 300 }),
    name: dnsLabel(40),
    tunnelSubnet: fc.integer({ min: 0, max: 63 }).map((i) => `10.4.0.${i * 4}/30`),
    transitGatewayAsn: fc.integer({ min: 64512, max: 65534 }),
    pool: fc.constantFrom("10.4.0.0/24", "10.4.0.0/29", "10.99.0.0/16", "192.168.7.0/28", "100.64.0.0/30"),
    address: fc
        .tuple(fc.constantFrom(10), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
        .map((p) => p.join(".")),
};

/** Keys a user may leave out (a default applies, or the feature is off). */
const OPTIONAL = new Set([
    "address",
    "port",
    "tunnelSubnet",
    "namespace",
    "attachment",
    "bridgeName",
    "macvlanMaster",
    "sidecar",
    "sidecarImage",
    "aws",
    "instanceId",
    "availabilityZone",
    "vpcId",
    "vpcCidr",
    "routeTableIds",
    "attachmentSubnets",
    "securityGroupIds",
    "transitGatewayId",
    "transitGatewayAsn",
    "pool",
    "prefixLength",
    "mtu",
    "underlayMtu",
    "protocolOverhead",
    "device",
    "metricsName",
    "hostPath",
    "installerImage",
    "architecture",
    "allocations",
    "command",
    "args",
    "terminationGracePeriodSeconds",
    "routing",
]);

// ---------------------------------------------------------------------------------------------
// Mutations

/** How a key gets misspelt. */
export type Typo =
    | "capitalized"
    | "upper"
    | "lower"
    | "snake_case"
    | "kebab-case"
    | "plural"
    | "trailing space"
    | { drop: number }
    | { double: number }
    | { swap: number }
    | { other: string };

const typo: fc.Arbitrary<Typo> = fc.oneof(
    fc.constantFrom<Typo>("capitalized", "upper", "lower", "snake_case", "kebab-case", "plural", "trailing space"),
    fc.nat(40).map((n): Typo => ({ drop: n })),
    fc.nat(40).map((n): Typo => ({ double: n })),
    fc.nat(40).map((n): Typo => ({ swap: n })),
    fc
        .constantFrom(
            "subnetIds",
            "cidr",
            "ip",
            "hostname",
            "nodeName",
            "address",
            "node",
            "site",
            "region",
            "port",
            "ranges",
            "link",
            "image",
            "aws",
            "tunnelIp",
            "kubeconfig",
        )
        .map((other): Typo => ({ other })),
);

function misspell(key: string, how: Typo): string {
    if (typeof how === "object") {
        if ("other" in how) return how.other;
        const i = key.length === 0 ? 0 : ("drop" in how ? how.drop : "double" in how ? how.double : how.swap) % key.length;
        if ("drop" in how) return key.slice(0, i) + key.slice(i + 1);
        if ("double" in how) return key.slice(0, i + 1) + key.slice(i);
        return i + 1 < key.length ? key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2) : key.slice(0, i - 1) + key[i] + key[i - 1];
    }
    switch (how) {
        case "capitalized":
            return key.charAt(0).toUpperCase() + key.slice(1);
        case "upper":
            return key.toUpperCase();
        case "lower":
            return key.toLowerCase();
        case "snake_case":
            return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        case "kebab-case":
            return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        case "plural":
            return `${key}s`;
        case "trailing space":
            return `${key} `;
    }
}

/** One edit of a topology, as data. */
export type Mutation =
    | { kind: "delete"; path: Path }
    | { kind: "rename"; path: Path; typo: Typo }
    | { kind: "move"; path: Path; into: Path }
    | { kind: "set"; path: Path; value: unknown }
    | { kind: "duplicate"; path: Path }
    | { kind: "fromOtherSite"; path: Path; site: string }
    | { kind: "copySite"; from: string; to: string }
    | { kind: "renameSite"; from: string; to: string }
    | { kind: "renameNode"; site: string; node: number; to: string }
    | { kind: "swapEnds"; link: number }
    | { kind: "addLink"; name: string; ends: [[string, number], [string, number]] }
    | { kind: "flavor"; site: string; platform: string; sidecar: string; attachment: string; aws: "keep" | "routing none" | "remove" };

/** Applies `mutations` to a copy of `topology`; one that no longer applies (its path is gone) changes nothing. */
export function mutate(topology: unknown, mutations: readonly Mutation[]): unknown {
    let t: any = structuredClone(topology);
    for (const m of mutations) {
        const sites = isObject(t) && isObject(t.sites) ? t.sites : undefined;
        const links: unknown[] | undefined = isObject(t) && Array.isArray(t.links) ? t.links : undefined;
        switch (m.kind) {
            case "delete":
                if (m.path.length > 0 && getAt(t, m.path)) deleteAt(t, m.path);
                break;
            case "rename": {
                const parent = containerAt(t, m.path.slice(0, -1));
                const key = m.path[m.path.length - 1];
                if (isObject(parent) && typeof key === "string") renameKey(parent, key, misspell(key, m.typo));
                break;
            }
            case "move": {
                const found = getAt(t, m.path);
                const into = containerAt(t, m.into);
                const key = m.path[m.path.length - 1];
                const inside = m.path.every((k, i) => m.into[i] === k);
                if (found && isObject(into) && typeof key === "string" && !inside) {
                    deleteAt(t, m.path);
                    into[key] = found.value;
                }
                break;
            }
            case "set":
                t = setAt(t, m.path, structuredClone(m.value));
                break;
            case "duplicate": {
                const parent = containerAt(t, m.path.slice(0, -1));
                const index = m.path[m.path.length - 1];
                if (Array.isArray(parent) && typeof index === "number" && index < parent.length) {
                    parent.splice(index + 1, 0, structuredClone(parent[index]));
                }
                break;
            }
            case "fromOtherSite": {
                const [head, , ...rest] = m.path;
                const other = head === "sites" && rest.length > 0 ? getAt(t, ["sites", m.site, ...rest]) : undefined;
                if (other) t = setAt(t, m.path, structuredClone(other.value));
                break;
            }
            case "copySite":
                if (sites && Object.hasOwn(sites, m.from)) sites[m.to] = structuredClone(sites[m.from]);
                break;
            case "renameSite":
                if (sites && Object.hasOwn(sites, m.from)) {
                    renameKey(sites, m.from, m.to);
                    for (const link of links ?? []) {
                        for (const end of isObject(link) && Array.isArray(link.ends) ? link.ends : []) {
                            if (isObject(end) && end.site === m.from) end.site = m.to;
                        }
                    }
                }
                break;
            case "renameNode": {
                const node = containerAt(t, ["sites", m.site, "nodes", m.node]);
                if (!isObject(node)) break;
                const old = node.name;
                node.name = m.to;
                for (const link of links ?? []) {
                    for (const end of isObject(link) && Array.isArray(link.ends) ? link.ends : []) {
                        if (isObject(end) && end.site === m.site && end.node === old) end.node = m.to;
                    }
                }
                break;
            }
            case "swapEnds": {
                const ends = containerAt(t, ["links", m.link, "ends"]);
                if (Array.isArray(ends) && ends.length >= 2) [ends[0], ends[1]] = [ends[1], ends[0]];
                break;
            }
            case "flavor": {
                const site = sites?.[m.site];
                if (!isObject(site)) break;
                Object.assign(site, { platform: m.platform, sidecar: m.sidecar, attachment: m.attachment });
                if (m.aws === "remove") delete site.aws;
                else if (m.aws === "routing none" && isObject(site.aws)) site.aws = { region: site.aws.region, routing: "none" };
                break;
            }
            case "addLink": {
                const ends = m.ends.map(([site, index]) => {
                    if (index < 0) return { site };
                    const node = containerAt(t, ["sites", site, "nodes", index]);
                    return { site, node: isObject(node) ? node.name : `node-${index}` };
                });
                if (links) links.push({ name: m.name, ends });
                break;
            }
        }
    }
    return t;
}

/** Mutations of `base`: any edit at any place (`breaking`), or changes a user makes on purpose (`plausible`). */
export function mutations(base: Base, weights: { breaking: number; plausible: number }): fc.Arbitrary<Mutation> {
    const t = base.topology;
    const paths = allPaths(t);
    const inner = paths.filter((p) => p.length > 0);
    const keyed = inner.filter((p) => typeof p[p.length - 1] === "string");
    const listed = inner.filter((p) => typeof p[p.length - 1] === "number");
    const objects = paths.filter((p) => isObject(getAt(t, p)?.value));
    const siteNames = Object.keys(t.sites);
    const inSites = inner.filter((p) => p[0] === "sites" && p.length > 2);
    const leaves = [...new Set(inner.map((p) => getAt(t, p)!.value).filter((v) => typeof v === "string" || typeof v === "number"))];
    const optional = keyed.filter((p) => OPTIONAL.has(p[p.length - 1] as string));
    // Every place a key with a usable value may be, there or not yet, by the key's name.
    const places = new Map<string, Path[]>();
    for (const p of objects) {
        const schema = schemaAt(topologySchema, p);
        const d = schema && definition(schema);
        for (const key of d?.type === "object" ? Object.keys(d.shape) : []) {
            if (Object.hasOwn(VALID, key)) places.set(key, [...(places.get(key) ?? []), [...p, key]]);
        }
    }
    // A listed site's nodes by number; a pool's end is placed, and names no node (number -1).
    const nodes = siteNames.flatMap((s) =>
        t.sites[s].nodes ? t.sites[s].nodes.map((_: unknown, i: number) => [s, i] as [string, number]) : [[s, -1] as [string, number]],
    );
    // A key that is not there yet: a new site, a new key in any map.
    const newKey = fc.oneof(
        fc.constantFrom(...siteNames),
        fc.constantFrom("ohio2", "tokyo", "Ohio", "new site", "x".repeat(41), "ohio.east", "aws", "port", "region", "range"),
        dnsLabel(40),
    );
    const value = fc.oneof({ weight: 3, arbitrary: oddValue }, { weight: 1, arbitrary: fc.constantFrom(...leaves) });

    const breaking: fc.Arbitrary<Mutation>[] = [
        fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...inner) }),
        fc.record({ kind: fc.constant("rename" as const), path: fc.constantFrom(...keyed), typo }),
        fc.record({ kind: fc.constant("move" as const), path: fc.constantFrom(...keyed), into: fc.constantFrom(...objects) }),
        fc.record({ kind: fc.constant("set" as const), path: fc.constantFrom(...paths), value }),
        fc.record({
            kind: fc.constant("set" as const),
            path: fc.tuple(fc.constantFrom(...objects), newKey).map(([p, k]) => [...p, k]),
            value,
        }),
        fc.record({ kind: fc.constant("duplicate" as const), path: fc.constantFrom(...listed) }),
        fc.record({ kind: fc.constant("fromOtherSite" as const), path: fc.constantFrom(...inSites), site: fc.constantFrom(...siteNames) }),
        fc.record({ kind: fc.constant("copySite" as const), from: fc.constantFrom(...siteNames), to: newKey }),
        fc.record({ kind: fc.constant("swapEnds" as const), link: fc.nat(t.links.length) }),
    ];
    // Changes on purpose, the first (a usable value for any key) three times as often as each other.
    const plausible: fc.Arbitrary<Mutation>[] = [
        ...Array<fc.Arbitrary<Mutation>>(3).fill(
            fc
                .constantFrom(...places.keys())
                .chain((key) => fc.tuple(fc.constantFrom(...places.get(key)!), VALID[key]))
                .map(([path, value]): Mutation => ({ kind: "set", path, value })),
        ),
        fc.record({
            kind: fc.constant("flavor" as const),
            site: fc.constantFrom(...siteNames),
            platform: fc.constantFrom("openshift", "kubernetes"),
            sidecar: fc.constantFrom("native", "legacy"),
            attachment: fc.constantFrom("bridge", "macvlan"),
            aws: fc.constantFrom("keep" as const, "routing none" as const, "remove" as const),
        }),
        fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...optional) }),
        fc.record({ kind: fc.constant("renameSite" as const), from: fc.constantFrom(...siteNames), to: dnsLabel(40) }),
        fc.record({
            kind: fc.constant("renameNode" as const),
            site: fc.constantFrom(...siteNames),
            node: fc.nat(3),
            to: nodeName,
        }),
        fc.record({
            kind: fc.constant("addLink" as const),
            name: dnsLabel(40),
            ends: fc.tuple(fc.constantFrom(...nodes), fc.constantFrom(...nodes)).filter(([a, b]) => a[0] !== b[0]),
        }),
        fc.record({ kind: fc.constant("delete" as const), path: fc.nat(t.links.length - 1).map((i): Path => ["links", i]) }),
        fc.record({ kind: fc.constant("swapEnds" as const), link: fc.nat(t.links.length - 1) }),
    ];
    return fc.oneof(
        ...breaking.map((arbitrary) => ({ weight: weights.breaking, arbitrary })),
        ...plausible.map((arbitrary) => ({ weight: weights.plausible, arbitrary })),
    );
}

/** A shipped configuration, and a few mutations of its topology. */
export function mutatedTopology(
    bases: Base[],
    weights: { breaking: number; plausible: number },
    maxMutations = 4,
): fc.Arbitrary<{ base: string; mutations: Mutation[] }> {
    return fc.oneof(
        ...bases.map((base) =>
            fc.record({
                base: fc.constant(base.name),
                mutations: fc.array(mutations(base, weights), { minLength: 1, maxLength: maxMutations }),
            }),
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// A stack's own configuration

/** How a key is set: JSON (what `pulumi config set --path` leaves), text as typed, or not at all. */
export type Setting = { json: unknown } | { text: string } | { unset: true };

export interface StackCase {
    stack: string;
    sites?: Setting;
    /** `managed`: a kubeconfig (and these extras) for each site the stack deploys; else as given. */
    access?: Setting | { managed: Record<string, unknown> };
    peerStacks?: Setting;
    /** Other `plumr:` keys, set as text. */
    extra: Record<string, string>;
    /** `plumr:topology` as text, instead of the base's topology. */
    topologyText?: string;
}

const NOT_JSON = [
    "ohio",
    "ohio,mumbai",
    "[ohio, mumbai]",
    "{ohio: {kubeconfig: x}}",
    "kubeconfig-of-ohio",
    "",
    " ",
    "{",
    '["ohio"',
    "ohio\nmumbai",
];

function setting(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Setting> {
    return fc.oneof(
        { weight: 8, arbitrary: valid.map((json): Setting => ({ json })) },
        { weight: 1, arbitrary: oddValue.map((json): Setting => ({ json })) },
        { weight: 1, arbitrary: fc.constantFrom(...NOT_JSON).map((text): Setting => ({ text })) },
        { weight: 1, arbitrary: fc.constant<Setting>({ unset: true }) },
    );
}

/** Stack configurations for `base`, most of them usable, the rest wrong in the ways users get them wrong. */
export function stackCase(base: Base): fc.Arbitrary<StackCase> {
    const siteNames = Object.keys(base.topology.sites);
    const site = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...siteNames) },
        { weight: 1, arbitrary: fc.constantFrom("Ohio", "tokyo", "", " ohio", "ohio mumbai", "x".repeat(50), "sites", "access") },
    );
    // Present in one case of `n` (fc.option's freq is the other way round: one nil in freq).
    const oneIn = <T>(n: number, arbitrary: fc.Arbitrary<T>) =>
        fc.oneof({ weight: n - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
    const rarely = <T>(arbitrary: fc.Arbitrary<T>) => oneIn(8, arbitrary);
    const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => oneIn(2, arbitrary);
    const kubeconfig = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...siteNames.map((s) => `kubeconfig-of-${s}`)) },
        { weight: 1, arbitrary: fc.constantFrom("", " ", "/nonexistent/kubeconfig", "apiVersion: v1\nkind: Config\n") },
        { weight: 1, arbitrary: oddValue },
    );
    // What a site's access holds besides its kubeconfig: usable values mostly, wrong ones and wrong keys rarely.
    const extras = fc
        .record({
            context: sometimes(
                fc.oneof({ weight: 4, arbitrary: fc.constantFrom("ohio-admin", "admin@ohio") }, { weight: 1, arbitrary: oddValue }),
            ),
            awsProfile: sometimes(
                fc.oneof({ weight: 4, arbitrary: fc.constantFrom("ohio", "prod-admin") }, { weight: 1, arbitrary: oddValue }),
            ),
            wrong: rarely(
                fc.dictionary(fc.constantFrom("kubeConfig", "profile", "region", "Context", "namespace"), oddValue, {
                    minKeys: 1,
                    maxKeys: 2,
                }),
            ),
        })
        .map(({ context, awsProfile, wrong }) => ({
            ...(context !== undefined && { context }),
            ...(awsProfile !== undefined && { awsProfile }),
            ...wrong,
        }));
    const entry = fc.oneof(
        {
            weight: 4,
            arbitrary: fc
                .tuple(fc.option(kubeconfig, { nil: undefined, freq: 6 }), extras)
                .map(([k, e]) => ({ ...(k !== undefined && { kubeconfig: k }), ...e })),
        },
        { weight: 1, arbitrary: oddValue },
    );
    const peerStack = fc.oneof(
        {
            weight: 3,
            arbitrary: fc.constantFrom(
                ...siteNames.map((s) => `organization/plumr/${s}`),
                ...siteNames.map((s) => `acme/plumr-links/${s}`),
                "mumbai",
            ),
        },
        { weight: 1, arbitrary: fc.constantFrom("a/b/c/d", "", "two words", "x".repeat(101), "org//stack", "🙂", "acme/plumr/") },
        { weight: 1, arbitrary: oddValue },
    );
    const extraKeys = fc.dictionary(
        fc.constantFrom(
            ...siteNames.map((s) => `plumr:access.${s}.kubeconfig`),
            "plumr:sites[0]",
            "plumr:site",
            "plumr:Sites",
            "plumr:peerstacks",
            "plumr:kubeconfig",
            "plumr:context",
            "plumr:awsProfile",
            "plumr:tunnel",
            "plumr:links",
            "plumr:topology.tunnel.port",
            "plumr:topolgy",
            "plumr:foo",
        ),
        fc.constantFrom("ohio", "kubeconfig-of-ohio", "5000", "{}", '["ohio"]', ""),
        { minKeys: 1, maxKeys: 2 },
    );
    return fc.record({
        stack: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...siteNames) },
            { weight: 1, arbitrary: fc.constantFrom("demo", "Ohio", "dev") },
        ),
        sites: sometimes(setting(fc.array(site, { maxLength: 4 }))),
        access: fc.oneof(
            { weight: 3, arbitrary: extras.map((e) => ({ managed: e })) },
            { weight: 1, arbitrary: setting(fc.dictionary(site, entry, { maxKeys: 4 })) },
        ),
        peerStacks: oneIn(3, setting(fc.dictionary(site, peerStack, { minKeys: 1, maxKeys: 3 }))),
        extra: oneIn(6, extraKeys).map((keys) => keys ?? {}),
        topologyText: rarely(fc.constantFrom("ohio", "{", "", "[]", "null", '"text"')),
    });
}

const settingText = (s: Setting): string | undefined => ("unset" in s ? undefined : "text" in s ? s.text : JSON.stringify(s.json));

/** The `plumr:` keys of `stack` as the engine hands them to the program (undefined: not set). */
export function stackConfig(stack: StackCase): Record<string, string | undefined> {
    const config: Record<string, string | undefined> = { ...stack.extra };
    if (stack.sites) config["plumr:sites"] = settingText(stack.sites);
    if (stack.peerStacks) config["plumr:peerStacks"] = settingText(stack.peerStacks);
    if (stack.topologyText !== undefined) config["plumr:topology"] = stack.topologyText;
    const access = stack.access;
    if (access && "managed" in access) {
        const sites = stack.sites && "json" in stack.sites && Array.isArray(stack.sites.json) ? stack.sites.json : [stack.stack];
        const managed = Object.fromEntries(sites.map((s) => [String(s), { kubeconfig: `kubeconfig-of-${String(s)}`, ...access.managed }]));
        config["plumr:access"] = JSON.stringify(managed);
    } else if (access) {
        config["plumr:access"] = settingText(access);
    }
    return config;
}

// ---------------------------------------------------------------------------------------------
// The contract

/** Words of the schema library, or of JavaScript, that must never reach a user. */
const LIBRARY_WORDING: RegExp[] = [
    /\bInvalid\b/,
    /invalid_\w+/,
    /\bexpected (tuple|record|object|array|string|number|int|boolean|nonoptional|never|bigint|symbol|date|map|set|union|literal|enum)\b/,
    /\breceived (undefined|null|string|number|object|array|boolean|NaN|nan)\b/,
    /Unrecognized key/,
    /\bToo (small|big)\b/,
    /ZodError|\$Zod|\bzod\b/i,
    /\bundefined\b/,
    /\bNaN\b/,
    /\[object \w+\]/,
    /\brecord\b/,
    /\bnull\b/,
    /\bTypeError\b|\bis not a function\b|Cannot read propert/,
];

/** What the user wrote: the topology as the program read it, and the other `plumr:` keys that were set. */
export interface Input {
    topology: unknown;
    /** The `plumr:` keys that were set (the four the program reads, and others). */
    setKeys: readonly string[];
    /** Why this input must be rejected, if it must: a problem must name `field` (if given), with a fix like `fix`. */
    rejected: Rejection[];
}

export interface Rejection {
    why: string;
    /** Whether the topology's schema alone finds it (parseTopology rejects it), or only the plan. */
    schema?: boolean;
    field?: string;
    fix?: RegExp;
}

/** The innermost definition of a schema, under optional and default wrappers. */
function definition(schema: unknown): any {
    let d = (schema as any)._zod.def;
    while (["optional", "default", "prefault", "nullable"].includes(d.type)) d = d.innerType._zod.def;
    return d;
}

/** What makes a topology wrong whatever else it holds: keys the schema does not know, ends in no site, two links of one name. */
export function topologyRejections(raw: unknown): Rejection[] {
    const rejections: Rejection[] = [];
    for (const p of allPaths(raw)) {
        const key = p[p.length - 1];
        if (typeof key !== "string") continue;
        const parent = schemaAt(topologySchema, p.slice(0, -1));
        const d = parent && definition(parent);
        if (d?.type === "object" && !Object.hasOwn(d.shape, key)) {
            const field = formatPath(p, "plumr:topology");
            rejections.push({ why: `unknown key ${field}`, field, schema: true });
        }
    }
    const t: any = raw;
    if (isObject(t) && isObject(t.sites) && Array.isArray(t.links)) {
        const names = new Set<string>();
        for (const link of t.links) {
            if (!isObject(link)) continue;
            if (typeof link.name === "string" && names.has(link.name)) rejections.push({ why: `two links named ${link.name}` });
            if (typeof link.name === "string") names.add(link.name);
            for (const end of Array.isArray(link.ends) ? link.ends : []) {
                if (isObject(end) && typeof end.site === "string" && !Object.hasOwn(t.sites, end.site)) {
                    rejections.push({
                        why: `an end of link ${JSON.stringify(link.name)} is in site ${JSON.stringify(end.site)}, which is not there`,
                    });
                }
            }
        }
    }
    return rejections;
}

const STACK_KEYS = ["plumr:sites", "plumr:access", "plumr:peerStacks"];

/** Every field of the topology `raw` as problems name them, and the maps among them. */
function topologyFields(raw: unknown): { fields: Set<string>; maps: Set<string> } {
    const fields = new Set<string>();
    const maps = new Set<string>();
    for (const p of allPaths(raw)) {
        const field = formatPath(p, "plumr:topology");
        fields.add(field);
        if (isObject(getAt(raw, p)!.value)) maps.add(field);
    }
    return { fields, maps };
}

/** Whether `field` names a field of the input: one that is there, or a key missing from a map that is. */
function namesInput(field: string, input: Input, topology: { fields: Set<string>; maps: Set<string> }): boolean {
    if (input.setKeys.includes(field) && field !== "plumr:topology") return true;
    if (field === "plumr:topology" || field.startsWith("plumr:topology.") || field.startsWith("plumr:topology[")) {
        if (topology.fields.has(field)) return true;
        const dot = field.lastIndexOf(".");
        return dot > 0 && topology.maps.has(field.slice(0, dot)) && !/[[\]]/.test(field.slice(dot + 1));
    }
    const under = (key: string) => field === key || field.startsWith(`${key}.`) || field.startsWith(`${key}[`);
    return STACK_KEYS.some(under) || input.setKeys.includes(field);
}

function problemFaults(p: Problem, input: Input, topology: { fields: Set<string>; maps: Set<string> }): string[] {
    const faults: string[] = [];
    if (typeof p.field !== "string" || !namesInput(p.field, input, topology)) faults.push("its field names no field of the input");
    for (const part of ["message", "fix"] as const) {
        const text = p[part];
        if (typeof text !== "string" || text.trim() === "") faults.push(`its ${part} is empty`);
        else for (const pattern of LIBRARY_WORDING) if (pattern.test(text)) faults.push(`its ${part} has library wording (${pattern})`);
    }
    const shown = p.value === undefined || p.value instanceof Hidden || p.value === "[secret]";
    if (typeof p.field === "string" && p.field.startsWith("plumr:access") && !shown) faults.push("it shows a secret's value");
    return faults;
}

/** Asserts that an input that was accepted could be (by the topology's schema alone, when `schema`). */
export function assertAccepted(input: Input, schema = false): void {
    assert.deepStrictEqual(
        input.rejected.filter((r) => r.schema || !schema).map((r) => r.why),
        [],
        "the configuration was accepted, but it must be rejected",
    );
}

/**
 * Asserts that `err` is a ConfigError in the user's words: at least one problem, each naming a
 * field of the input, with a message and a fix free of the schema library's wording; and that it
 * names what makes the input wrong for certain.
 */
export function assertUserError(err: unknown, input: Input): void {
    if (!(err instanceof ConfigError)) {
        const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
        assert.fail(`expected a plan or a ConfigError, got another error:\n${text}`);
    }
    assert.ok(err.problems.length > 0, "a ConfigError without problems");
    const topology = topologyFields(input.topology);
    const faults = err.problems.flatMap((p) => problemFaults(p, input, topology).map((f) => `${f}: ${JSON.stringify(p)}`));
    // A field inside one with a problem may go unchecked (the schema does not look into a list of the wrong length, or a
    // site whose name is wrong): it need not be named then, the input is rejected all the same.
    const inside = (field: string) => err.problems.some((p) => field.startsWith(`${p.field}.`) || field.startsWith(`${p.field}[`));
    for (const r of input.rejected) {
        if (r.field === undefined || inside(r.field)) continue;
        if (!err.problems.some((p) => p.field === r.field && (!r.fix || r.fix.test(p.fix)))) {
            faults.push(`no problem names ${r.field}${r.fix ? ` with a fix like ${r.fix}` : ""} (${r.why})`);
        }
    }
    assert.ok(!/\[object \w+\]/.test(err.message), `the message shows [object ...]:\n${err.message}`);
    assert.deepStrictEqual(faults, [], `the ConfigError is not in the user's words:\n${err.message}`);
}

/** What makes a stack's own keys wrong whatever else they hold: text that is not JSON, keys the program does not read. */
export function stackRejections(stack: StackCase, config: Record<string, string | undefined>): Rejection[] {
    const rejections: Rejection[] = [];
    for (const key of STACK_KEYS) {
        const text = config[key];
        if (text === undefined) continue;
        try {
            JSON.parse(text);
        } catch {
            rejections.push({ why: `${key} is not JSON`, field: key, fix: /pulumi config set (--secret )?--path '/ });
        }
    }
    for (const key of Object.keys(stack.extra)) rejections.push({ why: `${key} is not a key the program reads`, field: key });
    const access = stack.access && "json" in stack.access ? stack.access.json : undefined;
    if (isObject(access)) {
        for (const [site, entry] of Object.entries(access)) {
            for (const key of isObject(entry) ? Object.keys(entry) : []) {
                if (!["kubeconfig", "context", "awsProfile", "awsRoleArn"].includes(key)) {
                    rejections.push({ why: `unknown key ${key} in the access of ${site}`, field: formatPath([site, key], "plumr:access") });
                }
            }
        }
    }
    return rejections;
}
