// Reads a site's cluster for the preflight, with the kubectl on PATH, through the stack's access:
// shared by the program (before any change) and npm run preflight.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ClusterFacts, parseClusterFacts } from "../planner/cluster/facts";
import { accessReviews, Right, rightsNeeded } from "../planner/cluster/rights";
import type { SiteAccess } from "../planner/topology/stackSettings";
import type { SitePlan } from "../planner/types";
import type { Prepared } from "./prepare";

/** The script that asks a cluster the preflight's questions, and prints the answers in sections. */
export const PREFLIGHT_SCRIPT = path.join(__dirname, "preflight.sh");

/** What the program asks a site's cluster besides its version and nodes: OpenShift's settings, the VPC CNI's. */
export interface ClusterQuestions {
    openshift: boolean;
    aws: boolean;
    /** The rights the deployer needs there (planner/cluster/rights.ts). */
    rights: Right[];
}

/** The questions the preflight asks the cluster of `site`: those its platform and cloud need, and the rights its stack needs. */
export function questionsFor(site: SitePlan): ClusterQuestions {
    return { openshift: site.config.platform === "openshift", aws: site.config.aws !== undefined, rights: rightsNeeded(site.config) };
}

/** Prints what the preflight script prints for a site's cluster, or rejects with kubectl's error. */
export type ClusterReader = (access: Pick<SiteAccess, "kubeconfig" | "context">, questions: ClusterQuestions) => Promise<string>;

/** Runs the preflight script; the kubeconfig's contents go through its standard input, never a file of ours. */
export const readCluster: ClusterReader = (access, questions) =>
    new Promise((resolve, reject) => {
        const file = kubeconfigFile(access.kubeconfig);
        const child = execFile(
            "/bin/sh",
            [PREFLIGHT_SCRIPT],
            {
                env: {
                    ...process.env,
                    PLUMR_KUBECONFIG_FILE: file ?? "",
                    PLUMR_CONTEXT: access.context ?? "",
                    PLUMR_OPENSHIFT: questions.openshift ? "true" : "",
                    PLUMR_AWS: questions.aws ? "true" : "",
                    PLUMR_ACCESS_REVIEWS: questions.rights.length > 0 ? JSON.stringify(accessReviews(questions.rights)) : "",
                },
                encoding: "utf8",
                timeout: 5 * 60_000,
                maxBuffer: 256 << 20,
            },
            (err, stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout)),
        );
        child.stdin?.end(file ? "" : access.kubeconfig);
    });

/** What reading one site's cluster gave: its facts, or why it could not be read. */
export type ClusterRead = { facts: ClusterFacts } | { error: string };

/**
 * Reads the cluster of every site `prepared` deploys, all at once: a stack of several sites waits
 * for the slowest, not their sum. Never rejects: a cluster that could not be read says why.
 */
export async function readClusters(prepared: Prepared, reader: ClusterReader = readCluster): Promise<Record<string, ClusterRead>> {
    const { plan, managed, access } = prepared;
    const read = await Promise.allSettled(managed.map((site) => reader(access[site], questionsFor(plan.sites[site]))));
    return Object.fromEntries(
        managed.map((site, i) => {
            const result = read[i];
            return [
                site,
                result.status === "fulfilled"
                    ? { facts: parseClusterFacts(result.value) }
                    : { error: result.reason instanceof Error ? result.reason.message : String(result.reason) },
            ];
        }),
    );
}

/** The file `plumr:access.<site>.kubeconfig` names, if it names one rather than holding a kubeconfig (as for the provider). */
export function kubeconfigFile(kubeconfig: string): string | undefined {
    if (kubeconfig.includes("\n")) return undefined;
    const file = kubeconfig.startsWith("~") ? path.join(os.homedir(), kubeconfig.slice(1)) : kubeconfig;
    return fs.existsSync(file) ? path.resolve(file) : undefined;
}
