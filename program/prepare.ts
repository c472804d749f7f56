// Reads and checks the stack's whole configuration and plans the deployment, before anything is
// deployed. It loads the planner only, not the providers, so a bad configuration fails fast.
import * as pulumi from "@pulumi/pulumi";
import { describeChanges } from "../planner/addressing/allocations";
import {
    checkOutsideEnvironments,
    checkPeerStackEnvironments,
    checkSharedInfrastructure,
    environmentStackSite,
    locateProblems,
} from "../planner/environments/environments";
import { Environment, listEnvironments, readEnvironment } from "./environmentFiles";
import { ConfigError, Problem, Problems, SECRET, Unique } from "../planner/problems/errors";
import { readLocalFiles } from "./localFiles";
import { endsAt, managedSites, peerOf, planTopology } from "../planner/plan";
import type { Plan } from "../planner/types";
import type { PoolNode } from "../planner/pools/slots";
import { parseStackSettings, setKubeconfigCommand, setSitesCommands, SiteAccess, StackSettings } from "../planner/topology/stackSettings";
import { parseTopology, Topology, TOPOLOGY_KEY } from "../planner/topology/schema";

/**
 * Per-site access of the sites this stack deploys, from `plumr:access`. Every managed site needs a
 * kubeconfig; an entry for any other site is a mistake (a site left out of `plumr:sites`, or a
 * name that is not a site).
 */
function siteAccess(plan: Plan, managed: string[], settings: StackSettings, problems: Problems): Record<string, SiteAccess> {
    const result: Record<string, SiteAccess> = {};
    for (const site of managed) {
        const entry = settings.access[site];
        if (entry?.kubeconfig === undefined) {
            problems.add(
                `plumr:access.${site}.kubeconfig`,
                undefined,
                `this stack deploys site ${site} but has no kubeconfig for its cluster`,
                setKubeconfigCommand(site),
            );
            continue;
        }
        result[site] = { kubeconfig: entry.kubeconfig, context: entry.context, awsProfile: entry.awsProfile, awsRoleArn: entry.awsRoleArn };
    }
    // Two sites of one stack in the same namespace of the same cluster would fight over its objects.
    const places = new Unique(
        problems,
        "cluster and namespace",
        "give each site its own cluster, or its own namespace (sites.<site>.namespace)",
    );
    for (const site of Object.keys(result)) {
        const { kubeconfig, context } = result[site];
        places.check(JSON.stringify([kubeconfig, context ?? "", plan.sites[site].config.namespace]), `plumr:access.${site}`, SECRET);
    }
    for (const site of Object.keys(settings.access)) {
        if (managed.includes(site)) continue;
        const known = Object.hasOwn(plan.sites, site);
        problems.add(
            `plumr:access.${site}`,
            SECRET,
            known
                ? `site ${site} is not one this stack deploys (${managed.join(", ")}), so this access would never be used`
                : `names ${site}, which is not a site of the topology (${Object.keys(plan.sites).join(", ")})`,
            known
                ? `add ${site} to plumr:sites if this stack should deploy it (${setSitesCommands([...managed, site])}), ` +
                      `or remove it: pulumi config rm --path 'plumr:access.${site}'`
                : `correct the site's name, or remove it: pulumi config rm --path 'plumr:access.${site}'`,
        );
    }
    return result;
}

/**
 * Checks `plumr:peerStacks`: each entry must name a site that a site of this stack is linked to and
 * that another stack deploys; anything else would be silently ignored.
 */
function checkPeerStacks(plan: Plan, managed: string[], settings: StackSettings, problems: Problems): void {
    const peers = new Set(managed.flatMap((site) => endsAt(plan, site).map((end) => peerOf(plan, end).site)));
    for (const site of Object.keys(settings.peerStacks)) {
        const field = `plumr:peerStacks.${site}`;
        const remove = `pulumi config rm --path '${field}'`;
        if (!Object.hasOwn(plan.sites, site)) {
            problems.add(
                field,
                settings.peerStacks[site],
                `names ${site}, which is not a site of the topology`,
                `correct the site's name, or remove it: ${remove}`,
            );
        } else if (managed.includes(site)) {
            problems.add(
                field,
                settings.peerStacks[site],
                `site ${site} is deployed by this stack itself, so no other stack's outputs are read for it`,
                `remove it: ${remove}`,
            );
        } else if (!peers.has(site)) {
            problems.add(
                field,
                settings.peerStacks[site],
                `no site of this stack (${managed.join(", ")}) has a link to site ${site}, so this stack is never read`,
                `remove it (${remove}), or add the link to plumr:topology.links`,
            );
        }
    }
}

/** Everything the program needs to deploy, worked out from the configuration and the local files alone. */
export interface Prepared {
    /**
     * The plan. A pool's nodes are the ones the allocations file records until its cluster is read
     * (`plan.provisional`): `planWith` makes the plan again with the nodes each pool's cluster has.
     */
    plan: Plan;
    /** The plan with `pools`, the nodes each pool site's selector picks in its cluster; throws a ConfigError. */
    planWith(pools: Record<string, PoolNode[]>): Plan;
    /** The topology, as checked. */
    topology: Topology;
    /** The sites this stack deploys. */
    managed: string[];
    access: Record<string, SiteAccess>;
    /** `plumr:peerStacks`: the stack of each peer site, where it is not `<organization>/<project>/<stack of the site>`. */
    peerStacks: Record<string, string>;
    /** `plumr:environment`: the environment this stack deploys, whose stacks are named `<environment>-<site>`. */
    environment?: string;
}

/**
 * Reads and checks the whole configuration (the topology, the stack's own keys and the local
 * files) and plans the deployment; `source` is the engine's configuration unless given.
 * Synchronous and free of any cluster or cloud call, so that a configuration error fails the run
 * at once; throws one ConfigError with every problem found.
 */
export function prepare(baseDir = projectDirectory(), source: ConfigSource = engineConfig()): Prepared {
    const config = source.values;
    const problems = new Problems();
    const topologyText = config[TOPOLOGY_KEY];
    // The environment's name first: it says which topology the rest is checked against.
    const env = parseStackSettings(pick(config, "plumr:environment"), source.secretKeys, [], problems).environment;
    const environments = listEnvironments(baseDir);
    let topology: Topology | undefined;
    let environment: Environment | undefined;
    /** Names the file a problem's value comes from, in an environment. */
    const locate = (list: Problem[]) => (environment ? locateProblems(list, environment.patch, environment.name) : list);
    if (topologyText === undefined) {
        problems.add(
            TOPOLOGY_KEY,
            undefined,
            "required, but missing",
            "add it under config: in Pulumi.yaml (docs/CONFIGURATION.md shows an example)",
        );
    } else if (env) {
        environment = collect(problems, () => readEnvironment(baseDir, env, parseJsonConfig(topologyText), environments));
        topology = environment && collect(problems, () => parseTopology(environment!.topology), locate);
    } else if (env === undefined) {
        topology = collect(problems, () => parseTopology(parseJsonConfig(topologyText)));
    }
    const settings = parseStackSettings(
        omit(config, "plumr:environment"),
        source.secretKeys,
        topology ? Object.keys(topology.sites) : [],
        problems,
    );
    const files = topology && readLocalFiles(topology, baseDir);
    const plan = topology && collect(problems, () => planTopology(topology, files!), locate);
    const requested = settings.sites;
    const stackSite = env ? environmentStackSite(env, source.stack, requested, environments, problems) : undefined;
    const outside = env === undefined && checkOutsideEnvironments(source.stack, environments, problems);
    const managed =
        plan && requested !== null && stackSite !== null && !outside
            ? collect(problems, () => managedSites(plan, requested, stackSite ?? source.stack))
            : undefined;
    if (!plan || !managed) {
        problems.throwIfAny();
        throw new Error("the configuration could not be read, but no problem was recorded");
    }
    const access = siteAccess(plan, managed, settings, problems);
    checkPeerStacks(plan, managed, settings, problems);
    if (env && environment) {
        checkPeerStackEnvironments(env, settings.peerStacks, environments, problems);
        const shared = new Problems();
        checkSharedInfrastructure({ name: env, topology: topology! }, environment.others, shared);
        problems.list.push(...locate(shared.list));
    }
    problems.throwIfAny();
    const planWith = (pools: Record<string, PoolNode[]>) => {
        try {
            return planTopology(topology!, files!, pools);
        } catch (err) {
            if (err instanceof ConfigError) throw new ConfigError(locate(err.problems));
            throw err;
        }
    };
    return { plan, planWith, topology: topology!, managed, access, peerStacks: settings.peerStacks, ...(env && { environment: env }) };
}

/**
 * Warns when the allocations file does not record what `plan` gives the links and the pools' slots:
 * a later change could renumber a link, or move an endpoint whose slot changed hands.
 */
export function warnIfStale(prepared: Prepared, plan: Plan): void {
    const stale = describeChanges(plan.allocations.changes);
    if (!stale) return;
    const env = prepared.environment;
    const command =
        plan.allocations.changes.slots.length > 0
            ? `npm run discover -- ${pulumi.getStack()} --write`
            : `npm run allocate${env ? ` -- --environment ${env}` : ""}`;
    pulumi.log.warn(
        `${prepared.topology.allocations} does not record what the links and pools have now (${stale}). Run ${command} and commit the file: ` +
            "until then, a later change may renumber these.",
    );
}

function pick(config: Record<string, string>, key: string): Record<string, string> {
    return key in config ? { [key]: config[key] } : {};
}

function omit(config: Record<string, string>, key: string): Record<string, string> {
    return Object.fromEntries(Object.entries(config).filter(([k]) => k !== key));
}

/** Runs `fn`, moving the problems of a ConfigError it throws into `problems` (through `locate`, when given). */
function collect<T>(problems: Problems, fn: () => T, locate: (list: Problem[]) => Problem[] = (list) => list): T | undefined {
    try {
        return fn();
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.list.push(...locate(err.problems));
        return undefined;
    }
}

/** The topology's JSON text as the engine passes it (Pulumi.yaml holds it as an object, so it is always JSON). */
function parseJsonConfig(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** A stack's configuration, as the engine hands it to the program: every key's text, which are secret, and the stack's name. */
export interface ConfigSource {
    values: Record<string, string>;
    secretKeys: Set<string>;
    stack: string;
}

/**
 * The project's directory, where its Pulumi.yaml is: the topology's paths and the environments are
 * relative to it. The program may live elsewhere (Pulumi.yaml's `main`), and runs there.
 */
function projectDirectory(): string {
    return pulumi.runtime.getRootDirectory() || process.cwd();
}

/** The configuration of the stack the engine runs the program for. */
function engineConfig(): ConfigSource {
    const values = pulumi.runtime.allConfig();
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
    return {
        values,
        secretKeys: new Set(Object.keys(values).filter((key) => runtimeConfig.isConfigSecret(key))),
        stack: pulumi.getStack(),
    };
}
