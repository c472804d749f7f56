// Reads a site's cluster for the preflight, with the kubectl on PATH, through the stack's access:
// shared by the program (before any change) and npm run preflight.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SiteAccess } from "../planner/topology/stackSettings";

/** The script that asks a cluster the preflight's questions, and prints the answers in sections. */
export const PREFLIGHT_SCRIPT = path.join(__dirname, "preflight.sh");

/** Prints what the preflight script prints for a site's cluster, or rejects with kubectl's error. */
export type ClusterReader = (access: Pick<SiteAccess, "kubeconfig" | "context">, openshift: boolean) => Promise<string>;

/** Runs the preflight script; the kubeconfig's contents go through its standard input, never a file of ours. */
export const readCluster: ClusterReader = (access, openshift) =>
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

/** The file `plumr:access.<site>.kubeconfig` names, if it names one rather than holding a kubeconfig (as for the provider). */
export function kubeconfigFile(kubeconfig: string): string | undefined {
    if (kubeconfig.includes("\n")) return undefined;
    const file = kubeconfig.startsWith("~") ? path.join(os.homedir(), kubeconfig.slice(1)) : kubeconfig;
    return fs.existsSync(file) ? path.resolve(file) : undefined;
}
