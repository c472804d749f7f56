// Environments: the same links deployed more than once (staging and production, say), each time
// onto other clusters, with other ranges, allocations and stacks.
//
//   environments/<env>/topology.yaml     what the environment changes of Pulumi.yaml's plumr:topology,
//                                        as a JSON Merge Patch (RFC 7386): maps merge key by key,
//                                        anything else (a list, a text, a number) replaces, null removes
//   environments/<env>/allocations.json  the environment's own allocations (npm run allocate -- --environment <env>)
//
// A stack of an environment sets plumr:environment and is named <env>-<site>: plumr:sites defaults
// to that <site>, and its peers are the stacks <env>-<peer>, never another environment's.
import type * as MergePatch from "json-merge-patch";
import * as path from "path";
import * as a from "../addressing/addresses";
import { Finding, Problem, Problems } from "../problems/errors";
import * as id from "../topology/identifiers";
import { formatPath } from "../problems/issues";
import { NodeConfig, SiteConfig, Topology, TOPOLOGY_KEY } from "../topology/schema";

/** The directory, next to Pulumi.yaml, that holds one directory per environment. */
export const ENVIRONMENTS_DIR = "environments";

/** An environment's topology file, relative to the project's directory. */
export const environmentFile = (env: string): string => `${ENVIRONMENTS_DIR}/${env}/topology.yaml`;

/** An environment's allocations file, relative to the project's directory (unless its topology file names another). */
export const environmentAllocations = (env: string): string => `${ENVIRONMENTS_DIR}/${env}/allocations.json`;

/** The stack that deploys `site`: `<env>-<site>` in an environment, else the site's own name. */
export function siteStack(env: string | undefined, site: string): string {
    return env === undefined ? site : `${env}-${site}`;
}

/** What is wrong with an environment's name, if anything: it starts stack names, so a DNS label. */
export function environmentName(value: string): Finding | undefined {
    return id.dnsLabel(value, "an environment's name", 30);
}

/**
 * An environment's topology: `shared` (Pulumi.yaml's) with the environment's file applied over it
 * as a JSON Merge Patch, and the environment's own allocations file unless its file names one.
 * Neither argument is changed.
 */
export function mergeEnvironment(shared: unknown, patch: unknown, env: string): any {
    // Loaded only by an environment's stack.
    const { apply: applyMergePatch }: typeof MergePatch = require("json-merge-patch");
    const merged = applyMergePatch(structuredClone(shared ?? {}), structuredClone(patch ?? {}));
    const own = isMap(patch) && Object.hasOwn(patch, "allocations");
    return own ? merged : { ...merged, allocations: environmentAllocations(env) };
}

export function isMap(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The path of a field of the topology (`plumr:topology.sites.ohio.nodes[0].range`) as keys. */
function topologyPath(field: string): (string | number)[] | undefined {
    if (!field.startsWith(TOPOLOGY_KEY)) return undefined;
    const rest = field.slice(TOPOLOGY_KEY.length);
    const keys: (string | number)[] = [];
    for (const match of rest.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) keys.push(match[2] !== undefined ? Number(match[2]) : match[1]);
    return keys;
}

/**
 * Says where each problem's value was written: a topology field that the environment's file sets
 * (the field itself, or a list or value it lies in) is named in that file, e.g.
 * `environments/staging/topology.yaml: sites.ohio.nodes[0].range`; the others stay
 * `plumr:topology.…`, which is Pulumi.yaml's, and their message says which environment they were found in.
 */
export function locateProblems(problems: Problem[], patch: unknown, env: string): Problem[] {
    return problems.map((problem) => {
        const keys = topologyPath(problem.field);
        if (keys === undefined) return problem;
        let value: unknown = patch;
        for (const key of keys) {
            if (!isMap(value) || !Object.hasOwn(value, key)) {
                return { ...problem, message: `${problem.message} (environment ${env}, from Pulumi.yaml)` };
            }
            value = value[key];
            if (!isMap(value)) break; // set here as a whole, a list for example
        }
        return { ...problem, field: formatPath(keys, `${environmentFile(env)}:`).replace(":.", ": ") };
    });
}

/** One environment's parsed topology. */
export interface EnvironmentTopology {
    name: string;
    topology: Topology;
}

/** A field of the topology, as the user writes it. */
const topologyField = (...keys: (string | number)[]) => formatPath(keys, TOPOLOGY_KEY);

/** A site of environment `own` and a site of environment `other`, held against each other. */
interface SitePair {
    own: EnvironmentTopology;
    other: EnvironmentTopology;
    siteName: string;
    site: SiteConfig;
    otherSite: SiteConfig;
    /** How messages name the other site: `environment staging's site ohio`. */
    theirs: string;
}

/** Two environments never share an allocations file. */
function checkAllocationsFile(own: EnvironmentTopology, other: EnvironmentTopology, problems: Problems): void {
    if (path.normalize(other.topology.allocations) === path.normalize(own.topology.allocations)) {
        problems.add(
            topologyField("allocations"),
            own.topology.allocations,
            `environment ${other.name} records its allocations in the same file`,
            `leave allocations out of the environments' files: each then has environments/<env>/allocations.json`,
        );
    }
}

/** The nodes of `site` that `otherSite` lists too, where the two can be on one cluster. */
function sharedNodes(site: SiteConfig, otherSite: SiteConfig): NodeConfig[] {
    // Node names are unique in a cluster (on EKS, in a VPC): sites in different VPCs are different clusters.
    const vpcs = [site.aws?.vpcId, otherSite.aws?.vpcId];
    const apart = vpcs.every((v) => v !== undefined) && vpcs[0] !== vpcs[1];
    return apart ? [] : (site.nodes ?? []).filter((n) => (otherSite.nodes ?? []).some((o) => o.name === n.name));
}

/**
 * Two sites on one cluster need their own namespace, bridge, binaries directory on the nodes and
 * node ranges, and a node with a node agent serves one environment only.
 */
function checkSharedCluster(pair: SitePair, problems: Problems): void {
    const { own, other, siteName, site, otherSite, theirs } = pair;
    const shared = sharedNodes(site, otherSite);
    if (shared.length === 0) return;
    const where = `${theirs} is on the same cluster (both list node ${shared[0].name})`;
    const agent = (s: SiteConfig) => s.attachment === "bridge" && s.nodeNetwork === "agent";
    if (agent(site) && agent(otherSite)) {
        const i = (site.nodes ?? []).indexOf(shared[0]);
        problems.add(
            topologyField("sites", siteName, "nodes", i, "name"),
            shared[0].name,
            `${theirs} lists the same node, and both environments' node agents would keep its forwarding rules: each keeps the chains PLUMR-FORWARD and PLUMR-POSTROUTING to its own rules, so they would undo each other`,
            "give each environment nodes of its own (a node pool per environment, its nodes listed in its own file)",
        );
    }
    if (site.namespace === otherSite.namespace) {
        problems.add(
            topologyField("sites", siteName, "namespace"),
            site.namespace,
            `${where} and in the same namespace: each would overwrite the other's objects`,
            `give each environment its own namespace, e.g. ${site.namespace}-${own.name}`,
        );
    }
    if (site.attachment === "bridge" && otherSite.attachment === "bridge" && site.bridgeName === otherSite.bridgeName) {
        problems.add(
            topologyField("sites", siteName, "bridgeName"),
            site.bridgeName,
            `${where} with the same bridge: both node agents would set its addresses`,
            `give each environment its own bridge (at most 15 characters), e.g. br-${own.name.slice(0, 12)}`,
        );
    }
    if (own.topology.binaries.hostPath === other.topology.binaries.hostPath) {
        problems.add(
            topologyField("binaries", "hostPath"),
            own.topology.binaries.hostPath,
            `${where} and installs the binaries in the same directory of its nodes: one environment's would replace the other's`,
            `give each environment its own directory, e.g. /var/lib/plumr-${own.name}/bin`,
        );
    }
    checkSharedNodeRanges(pair, problems);
}

/** A node both sites list needs a range of its own in each, or their endpoints could get the same addresses. */
function checkSharedNodeRanges(pair: SitePair, problems: Problems): void {
    const { siteName, site, otherSite, theirs } = pair;
    (site.nodes ?? []).forEach((node, i) => {
        const twin = (otherSite.nodes ?? []).find((o) => o.name === node.name);
        const mine = a.parseCidr(node.range);
        const other = twin && a.parseCidr(twin.range);
        if (other && "cidr" in mine && "cidr" in other && a.overlaps(mine.cidr, other.cidr)) {
            problems.add(
                topologyField("sites", siteName, "nodes", i, "range"),
                node.range,
                `overlaps ${twin!.range}, the range ${theirs} gives the same node ${node.name}: their endpoints could get the same addresses`,
                "give the node a range of its own in each environment, with bridge ranges that do not overlap",
            );
        }
    });
}

/** Two sites in the same VPC need bridge ranges that do not overlap, for the VPC routes them by range. */
function checkSameVpcRanges(pair: SitePair, problems: Problems): void {
    const { siteName, site, otherSite, theirs } = pair;
    const vpc = site.aws?.vpcId;
    if (vpc === undefined || vpc !== otherSite.aws?.vpcId) return;
    const mine = a.parseCidr(site.bridgeRange);
    const other = a.parseCidr(otherSite.bridgeRange);
    if ("cidr" in mine && "cidr" in other && a.overlaps(mine.cidr, other.cidr)) {
        problems.add(
            topologyField("sites", siteName, "bridgeRange"),
            site.bridgeRange,
            `overlaps ${otherSite.bridgeRange}, the bridge range of ${theirs} in the same VPC ${vpc}: the VPC routes by range, so one environment's routes would take the other's traffic`,
            "give each environment bridge ranges of its own",
        );
    }
}

/**
 * Checks that environment `own` cannot collide with the `others` where they share
 * infrastructure. Two sites share a cluster when they list a node of the same name and are not
 * in two different VPCs: there they need their own namespace, bridge, binaries directory on the
 * nodes, and node ranges, and a node with a node agent serves one environment only. Two sites
 * in the same VPC need bridge ranges that do not overlap, for the VPC routes them by range. Two
 * environments never share an allocations file. Fields are `own`'s.
 */
export function checkSharedInfrastructure(own: EnvironmentTopology, others: EnvironmentTopology[], problems: Problems): void {
    for (const other of others) {
        checkAllocationsFile(own, other, problems);
        for (const [siteName, site] of Object.entries(own.topology.sites)) {
            for (const [otherSiteName, otherSite] of Object.entries(other.topology.sites)) {
                const pair = { own, other, siteName, site, otherSite, theirs: `environment ${other.name}'s site ${otherSiteName}` };
                checkSharedCluster(pair, problems);
                checkSamePool(pair, problems);
                checkSameVpcRanges(pair, problems);
            }
        }
    }
}

/**
 * Two pools that pick their nodes with the same labels, and may be on one cluster (not in two
 * different VPCs), would take the same nodes: both environments' node agents would keep their rules.
 */
function checkSamePool(pair: SitePair, problems: Problems): void {
    const { own, siteName, site, otherSite, theirs } = pair;
    if (!site.pool || !otherSite.pool) return;
    const vpcs = [site.aws?.vpcId, otherSite.aws?.vpcId];
    if (vpcs.every((v) => v !== undefined) && vpcs[0] !== vpcs[1]) return;
    const labels = (selector: Record<string, string>) => JSON.stringify(Object.entries(selector).sort());
    if (labels(site.pool.selector) !== labels(otherSite.pool.selector)) return;
    problems.add(
        topologyField("sites", siteName, "pool", "selector"),
        site.pool.selector,
        `${theirs} picks its pool's nodes with the same labels: on one cluster both environments would take the same nodes, and their node agents would undo each other's rules`,
        `give each environment's pool a label of its own, e.g. selector: {plumr.environment: ${own.name}}, and label each environment's nodes with it`,
    );
}

/**
 * The site a stack of environment `env` deploys by default: its name without `<env>-`. A name
 * without that prefix is a problem (null), for its peers would not find it; undefined when
 * plumr:sites names the sites.
 */
export function environmentStackSite(
    env: string,
    stack: string,
    requested: string[] | null | undefined,
    environments: string[],
    problems: Problems,
): string | null | undefined {
    const prefix = `${env}-`;
    if (stack.startsWith(prefix) && stack.length > prefix.length) return requested === undefined ? stack.slice(prefix.length) : undefined;
    const other = environments.find((e) => e !== env && stack.startsWith(`${e}-`));
    problems.add(
        "plumr:environment",
        env,
        other
            ? `this stack, ${stack}, is named as a stack of environment ${other}, but is set to deploy environment ${env}`
            : `this stack's name, ${stack}, does not start with ${prefix}: the stacks of an environment are named <environment>-<site>, which is how their peers find them`,
        other
            ? `set the environment the stack belongs to (pulumi config set plumr:environment ${other}), or deploy ${env} from a stack named ${prefix}<site>`
            : `deploy it from a stack named ${prefix}<site> (pulumi stack rename ${prefix}<site>)`,
    );
    return null;
}

/**
 * Whether a stack without plumr:environment is in a project with environments: a problem if so,
 * for Pulumi.yaml's topology is then their shared part, not a deployment of its own.
 */
export function checkOutsideEnvironments(stack: string, environments: string[], problems: Problems): boolean {
    if (environments.length === 0) return false;
    const named = environments.find((e) => stack.startsWith(`${e}-`));
    problems.add(
        "plumr:environment",
        undefined,
        `not set, but this project has environments (${environments.join(", ")}): Pulumi.yaml's topology is their shared part, not one to deploy alone` +
            (named ? `, and this stack, ${stack}, is named as a stack of environment ${named}` : ""),
        named
            ? `pulumi config set plumr:environment ${named}`
            : `deploy from a stack of an environment: pulumi stack init <environment>-<site>, then pulumi config set plumr:environment <environment> (one of ${environments.join(", ")})`,
    );
    return true;
}

/** Checks that no `plumr:peerStacks` entry names a stack outside environment `env`. */
export function checkPeerStackEnvironments(
    env: string,
    peerStacks: Record<string, string>,
    environments: string[],
    problems: Problems,
): void {
    for (const [site, name] of Object.entries(peerStacks)) {
        const stack = name.split("/").at(-1)!;
        if (stack.startsWith(`${env}-`)) continue;
        const other = environments.find((e) => stack.startsWith(`${e}-`));
        problems.add(
            `plumr:peerStacks.${site}`,
            name,
            other
                ? `names a stack of environment ${other}, but this stack deploys environment ${env}: environments never read each other's stacks`
                : `not a stack of environment ${env}, whose stacks are named ${env}-<site>`,
            `remove it, and the stack ${siteStack(env, site)} of this organization and project is read (pulumi config rm --path 'plumr:peerStacks.${site}'), ` +
                `or name that stack in another organization or project: pulumi config set --path 'plumr:peerStacks.${site}' <organization>/<project>/${siteStack(env, site)}`,
        );
    }
}
