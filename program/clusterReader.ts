// Reads a site's cluster for the preflight, with the kubectl on PATH, through the stack's access:
// shared by the program (before any change) and npm run preflight.
import { execFile } from "child_process";
import { PREFLIGHT_SCRIPT } from "../planner/cluster/preflight";
import { kubeconfigFile } from "./prepare";

/** How the stack reaches a site's cluster: the kubeconfig (its contents or its path) and the context. */
export interface ClusterAccessConfig {
    kubeconfig: string;
    context?: string;
}

/** Prints what PREFLIGHT_SCRIPT prints for a site's cluster, or rejects with kubectl's error. */
export type ClusterReader = (access: ClusterAccessConfig, openshift: boolean) => Promise<string>;

/** Runs PREFLIGHT_SCRIPT; the kubeconfig's contents go through its standard input, never a file of ours. */
export const readCluster: ClusterReader = (access, openshift) =>
    new Promise((resolve, reject) => {
        const file = kubeconfigFile(access.kubeconfig);
        const child = execFile(
            "/bin/sh",
            ["-c", PREFLIGHT_SCRIPT],
            {
                env: {
                    ...process.env,
                    PLUMR_KUBECONFIG_FILE: file ?? "",
                    PLUMR_CONTEXT: access.context ?? "",
                    PLUMR_OPENSHIFT: openshift ? "true" : "",
                },
                encoding: "utf8",
                timeout: 5 * 60_000,
                maxBuffer: 64 << 20,
            },
            (err, stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout)),
        );
        child.stdin?.end(file ? "" : access.kubeconfig);
    });
