// The preflight: each site's cluster, read before any change, holds the plan. A pool's nodes are
// the ones its cluster has, so a stack that deploys a pool site makes its plan again with them,
// then holds the clusters against it (planner/cluster/preflight.ts).
import { checkCluster, PreflightCheck } from "../planner/cluster/preflight";
import { ConfigError, Problem, SECRET } from "../planner/problems/errors";
import { poolsOf } from "../planner/pools/slots";
import type { Plan } from "../planner/types";
import type { ClusterRead } from "./clusterReader";
import type { Prepared } from "./prepare";

/** The plan on the clusters that were read, and every check of each site's cluster. */
export interface ClusterChecks {
    /** Undefined when the plan cannot be made: `checks` then say why. */
    plan?: Plan;
    checks: PreflightCheck[];
}

/** A cluster that could not be read, as a failed check. */
function unreadable(site: string, error: string): PreflightCheck {
    const problem: Problem = {
        field: `plumr:access.${site}.kubeconfig`,
        value: SECRET,
        message: `could not read site ${site}'s cluster to check it before any change: ${error}`,
        fix: "install kubectl where pulumi runs, and check that this kubeconfig reaches the cluster (kubectl get nodes)",
    };
    return { site, check: "cluster reachable", ok: false, found: error.split("\n")[0], problems: [problem] };
}

/**
 * Makes the plan on `clusters` (the clusters of the sites `prepared` deploys, read by readClusters)
 * and checks each cluster against it. The plan is `prepared`'s unless a pool site this stack
 * deploys was placed from the allocations file alone: then it is made again with the nodes each
 * pool's selector picks in its cluster.
 */
export function checkClusters(prepared: Prepared, clusters: Record<string, ClusterRead>): ClusterChecks {
    const checks: PreflightCheck[] = [];
    const nodes: Record<string, NonNullable<Extract<ClusterRead, { facts: unknown }>["facts"]>["nodes"]> = {};
    for (const [site, read] of Object.entries(clusters)) {
        if ("facts" in read) nodes[site] = read.facts.nodes;
        else checks.push(unreadable(site, read.error));
    }
    const replan = prepared.plan.provisional.some((site) => prepared.managed.includes(site) && nodes[site]);
    let plan: Plan;
    try {
        plan = replan ? prepared.planWith(poolsOf(prepared.topology, nodes)) : prepared.plan;
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { checks: [...checks, { site: "", check: "pools placed on their clusters", ok: false, found: "", problems: err.problems }] };
    }
    for (const [site, read] of Object.entries(clusters)) if ("facts" in read) checks.push(...checkCluster(plan, site, read.facts));
    return { plan, checks };
}

/** The plan on the clusters, or a ConfigError with every problem the preflight found, before any change. */
export function preflight(prepared: Prepared, clusters: Record<string, ClusterRead>): Plan {
    const { plan, checks } = checkClusters(prepared, clusters);
    const problems = checks.flatMap((check) => check.problems);
    if (problems.length > 0 || !plan) throw new ConfigError(problems);
    return plan;
}
