// How a change rolls out: the order of `pulumi up` runs that brings an environment's stacks to
// converge, the order in which environments get a change (environments/promotion.yaml), and which
// stacks a change to the repository can affect. Pure; `npm run stacks` reads the files and git.
import { Problems } from "../problems/errors";
import { siteStack } from "./environments";
import { Topology } from "../topology/schema";

/** The GitHub environment that a project without environments deploys in. */
export const DEFAULT_GITHUB_ENVIRONMENT = "production";

/** How many environments the workflow deploys one after the other: it has one deploy job for each. */
export const MAX_STAGES = 3;

/** The file that lists the environments in the order a change reaches them. */
export const PROMOTION_FILE = "environments/promotion.yaml";

/**
 * The rounds of `pulumi up`, site by site, that bring every site of `topology` to converge. One
 * round when no site peers through a Transit Gateway. Otherwise three (docs/AWS.md): every
 * site, so each has its Transit Gateway; every site in name order, so that each peering's
 * requester (the site whose name sorts first) asks before its accepter accepts; then the
 * requesters again, to route through their accepted peerings.
 */
export function deployRounds(topology: Topology): string[][] {
    const sites = Object.keys(topology.sites).sort();
    const peering = (site: string) => topology.sites[site].aws?.routing === "transitGateway";
    const requesters = sites.filter(
        (site) =>
            peering(site) &&
            topology.links.some((link) => {
                const [a, b] = link.ends.map((end) => end.site);
                const peer = a === site ? b : b === site ? a : undefined;
                return peer !== undefined && peer > site && peering(peer);
            }),
    );
    return requesters.length === 0 ? [sites] : [sites, sites, requesters];
}

/** One environment's stacks, for the workflow. */
export interface EnvironmentStacks {
    /** The environment; undefined for a project without environments. */
    name?: string;
    topology: Topology;
}

/** One stage of the deployment on main: a GitHub environment, and its stacks in the order they are brought up. */
export interface Stage {
    /** The GitHub environment the stage's job runs in: its protection rules (required reviewers) gate it. */
    environment: string;
    /** Every `pulumi up`, in order (a stack may come more than once). */
    order: string[];
}

/** The stacks of one environment, in site name order. */
export function stacksOf(env: EnvironmentStacks): string[] {
    return Object.keys(env.topology.sites)
        .sort()
        .map((site) => siteStack(env.name, site));
}

/** The stages of a deployment, in the order `promotion` gives (each environment's rounds, flattened). */
export function stages(environments: EnvironmentStacks[]): Stage[] {
    return environments.map((env) => ({
        environment: env.name ?? DEFAULT_GITHUB_ENVIRONMENT,
        order: deployRounds(env.topology).flatMap((round) => round.map((site) => siteStack(env.name, site))),
    }));
}

/**
 * Checks environments/promotion.yaml's list against the environments there are: each exactly
 * once, and no more than the workflow has stages for. Returns the order (the one environment
 * when there is one and no file).
 */
export function promotionOrder(listed: unknown, environments: string[], problems: Problems): string[] {
    if (listed === undefined) {
        if (environments.length <= 1) return environments;
        problems.add(
            PROMOTION_FILE,
            undefined,
            `missing: with ${environments.length} environments (${environments.join(", ")}), the workflow needs the order in which a change reaches them`,
            `write ${PROMOTION_FILE} as a list, the first environment first, e.g. [${environments.join(", ")}]`,
        );
        return [];
    }
    if (!Array.isArray(listed) || listed.some((e) => typeof e !== "string")) {
        problems.add(
            PROMOTION_FILE,
            listed,
            "expected a list of environment names",
            `write it as a list, e.g. [${environments.join(", ")}]`,
        );
        return [];
    }
    const order = listed as string[];
    order.forEach((env, i) => {
        if (!environments.includes(env))
            problems.add(
                `${PROMOTION_FILE}[${i}]`,
                env,
                "not an environment: there is no environments/<name>/topology.yaml for it",
                `list only ${environments.join(", ")}`,
            );
        else if (order.indexOf(env) !== i) problems.add(`${PROMOTION_FILE}[${i}]`, env, "listed twice", "list each environment once");
    });
    for (const env of environments.filter((e) => !order.includes(e)))
        problems.add(
            PROMOTION_FILE,
            order,
            `leaves out environment ${env}, so the workflow would never deploy it`,
            `add ${env} where it belongs in the order`,
        );
    if (order.length > MAX_STAGES)
        problems.add(
            PROMOTION_FILE,
            order,
            `lists ${order.length} environments; the workflow deploys at most ${MAX_STAGES}, one deploy job each`,
            `add a deploy-${order.length} job to .github/workflows/pulumi.yml like the others, and raise MAX_STAGES in planner/environments/rollout.ts`,
        );
    return order;
}

/** Paths that never change what a stack deploys: docs, examples, tests, benchmarks and development tooling. */
const NO_DEPLOYMENT = [/\.md$/, /^docs\//, /^examples\//, /^test\//, /^bench\//, /^twin\//, /^local\//, /^commands\//, /^\.ci\//];

/**
 * The stacks a change to `files` (paths relative to the repository) can affect, in `environments`'
 * order: an environment's own files affect its stacks, a stack's file that stack, and anything that
 * may change what is deployed (the program, Pulumi.yaml, the config template) every stack.
 */
export function affectedStacks(files: string[], environments: EnvironmentStacks[]): string[] {
    const all = environments.flatMap(stacksOf);
    const affected = new Set<string>();
    for (const file of files) {
        const env = /^environments\/([^/]+)\//.exec(file)?.[1];
        const stackFile = /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1];
        if (env !== undefined && environments.some((e) => e.name === env)) {
            for (const stack of stacksOf(environments.find((e) => e.name === env)!)) affected.add(stack);
        } else if (stackFile !== undefined) {
            if (all.includes(stackFile)) affected.add(stackFile);
        } else if (file === PROMOTION_FILE || NO_DEPLOYMENT.some((pattern) => pattern.test(file))) {
            continue;
        } else {
            return all;
        }
    }
    return all.filter((stack) => affected.has(stack));
}
