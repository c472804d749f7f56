// Reads a site's cluster for the preflight, through the stack's access, with one `kubectl proxy` per
// cluster: kubectl handles every way a kubeconfig authenticates (certificates, tokens, EKS's
// `aws eks get-token` and other exec plugins), once per cluster, and the questions go through it at
// once as plain HTTP requests. Shared by the program (before any change) and npm run preflight.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ClusterFacts, parseClusterFacts } from "../planner/cluster/facts";
import { accessReviews, Right, rightsNeeded } from "../planner/cluster/rights";
import type { SiteAccess } from "../planner/topology/stackSettings";
import type { SitePlan } from "../planner/types";
import type { Prepared } from "./prepare";

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

/** The answers of a site's cluster, as sections (planner/cluster/facts.ts parses them), or rejects with why it could not be read. */
export type ClusterReader = (access: Pick<SiteAccess, "kubeconfig" | "context">, questions: ClusterQuestions) => Promise<string>;

/** How long the cluster may take to answer one question, and kubectl to start serving. */
const TIMEOUT_MS = 60_000;

/** One plain GET of the preflight: its section, the API path, and whether the cluster must answer it (else an empty section). */
interface Read {
    section: string;
    path: string;
    required?: boolean;
}

/** The GETs for `questions`: only what the site's platform and cloud need. */
export function readsFor(questions: ClusterQuestions): Read[] {
    return [
        { section: "version", path: "/version", required: true },
        { section: "nodes", path: "/api/v1/nodes", required: true },
        { section: "multus", path: "/apis/k8s.cni.cncf.io/v1" },
        { section: "monitoring", path: "/apis/monitoring.coreos.com/v1" },
        { section: "kubernetes-service", path: "/api/v1/namespaces/default/services/kubernetes" },
        ...(questions.openshift
            ? [
                  { section: "network-operator", path: "/apis/operator.openshift.io/v1/networks/cluster" },
                  { section: "network-config", path: "/apis/config.openshift.io/v1/networks/cluster" },
              ]
            : []),
        ...(questions.aws ? [{ section: "aws-node", path: "/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node" }] : []),
    ];
}

/** What the API server answered through the proxy. */
interface Answer {
    status: number;
    body: string;
}

/** One HTTP request to the API server through kubectl's proxy on `socket`. */
function ask(socket: string, method: "GET" | "POST", apiPath: string, body?: object): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const request = http.request(
            {
                socketPath: socket,
                path: apiPath,
                method,
                // The proxy serves requests for localhost only.
                headers: { host: "localhost", ...(payload !== undefined && { "content-type": "application/json" }) },
                timeout: TIMEOUT_MS,
            },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
                response.on("error", reject);
            },
        );
        request.on("timeout", () => request.destroy(new Error(`no answer to ${method} ${apiPath} within ${TIMEOUT_MS / 1000} s`)));
        request.on("error", reject);
        request.end(payload);
    });
}

/**
 * Why a required question got no answer, in the words of whoever refused it: the API server (a
 * Status object), or kubectl (it could not reach the server, or get credentials).
 */
function refusal(read: Read, answer: Answer): string {
    const said = answer.body.trim();
    try {
        const status = JSON.parse(said);
        if (typeof status?.message === "string")
            return `the API server refused GET ${read.path} (${answer.status} ${status.reason ?? ""}): ${status.message}`;
    } catch {
        // not a Status object
    }
    return `GET ${read.path}: ${said || `answered ${answer.status}`}`;
}

/** Whether a SelfSubjectAccessReview allowed its request; undefined when it got no answer. */
function allowed(answer: Answer): boolean | undefined {
    if (answer.status !== 201 && answer.status !== 200) return undefined;
    try {
        return JSON.parse(answer.body)?.status?.allowed === true;
    } catch {
        return undefined;
    }
}

/**
 * Starts `kubectl proxy` on a Unix socket in `dir` (`started` gets it at once), and resolves once it
 * serves; rejects with kubectl's error if it stops first.
 */
function startProxy(
    kubeconfig: string,
    context: string | undefined,
    socket: string,
    started: (proxy: ChildProcess) => void,
): Promise<ChildProcess> {
    const args = ["--kubeconfig", kubeconfig, ...(context ? ["--context", context] : []), "proxy", `--unix-socket=${socket}`];
    const proxy = spawn("kubectl", args, { stdio: ["ignore", "pipe", "pipe"] });
    started(proxy);
    return new Promise((resolve, reject) => {
        let said = "";
        // Once serving, the proxy's end is its reader's business (stopProxy), not a failure to start.
        let serving = false;
        const timer = setTimeout(() => fail(`kubectl proxy did not start serving within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
        const fail = (why: string) => {
            if (serving) return;
            clearTimeout(timer);
            stopProxy(proxy);
            reject(new Error(why));
        };
        proxy.stderr!.on("data", (chunk: Buffer) => (said += chunk.toString("utf8")));
        proxy.stdout!.on("data", (chunk: Buffer) => {
            if (serving || !chunk.toString("utf8").includes("Starting to serve")) return;
            serving = true;
            clearTimeout(timer);
            resolve(proxy);
        });
        proxy.on("error", (err) => fail(`could not run kubectl: ${err.message}`));
        proxy.on("exit", (code) => fail(said.trim() || `kubectl proxy stopped (exit ${code})`));
    });
}

/** Stops the proxy, and lets this process end even if something of it lingers (a kubectl wrapped by another program). */
function stopProxy(proxy: ChildProcess): void {
    proxy.kill();
    proxy.stdout?.destroy();
    proxy.stderr?.destroy();
    proxy.unref();
}

/**
 * Reads a cluster through one `kubectl proxy`: the kubeconfig's contents go to a file only its
 * user can read, in a directory of its own that is removed afterwards (a kubeconfig that names a
 * file is used where it is). The questions are asked all at once: a cluster far away costs one
 * round trip, not one per question.
 */
export const readCluster: ClusterReader = async (access, questions) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-preflight-"));
    let proxy: ChildProcess | undefined;
    // A command stopped by a signal exits from its handler (lib/interrupts.ts): the proxy and the
    // kubeconfig's copy go then too.
    const leave = () => {
        if (proxy) stopProxy(proxy);
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.on("exit", leave);
    try {
        let kubeconfig = kubeconfigFile(access.kubeconfig);
        if (!kubeconfig) {
            kubeconfig = path.join(dir, "kubeconfig");
            fs.writeFileSync(kubeconfig, access.kubeconfig, { mode: 0o600 });
        }
        const socket = path.join(dir, "api.sock");
        await startProxy(kubeconfig, access.context, socket, (started) => (proxy = started));
        const reads = readsFor(questions);
        const reviews = (accessReviews(questions.rights) as { items: object[] }).items;
        // An answer for every question: a request that failed is an answer too (status 0, and why).
        const asked = (method: "GET" | "POST", apiPath: string, body?: object) =>
            ask(socket, method, apiPath, body).catch((err: Error): Answer => ({ status: 0, body: err.message }));
        const review = (body: object) => asked("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body);
        const [answers, reviewed, privilegedScc] = await Promise.all([
            Promise.all(reads.map((read) => asked("GET", read.path))),
            Promise.all(reviews.map(review)),
            questions.openshift
                ? review({
                      apiVersion: "authorization.k8s.io/v1",
                      kind: "SelfSubjectAccessReview",
                      spec: {
                          resourceAttributes: {
                              verb: "use",
                              group: "security.openshift.io",
                              resource: "securitycontextconstraints",
                              name: "privileged",
                          },
                      },
                  })
                : undefined,
        ]);
        const sections: [string, string][] = [];
        reads.forEach((read, i) => {
            const ok = answers[i].status >= 200 && answers[i].status < 300;
            if (!ok && read.required) throw new Error(refusal(read, answers[i]));
            sections.push([read.section, ok ? answers[i].body : ""]);
        });
        // An answer per line, in the order the rights were asked: verb, group, resource, namespace, allowed.
        if (reviews.length > 0)
            sections.push([
                "rights",
                questions.rights
                    .flatMap((right, i) => {
                        const answer = allowed(reviewed[i]);
                        return answer === undefined
                            ? []
                            : [[right.verb, right.group, right.resource, right.namespace ?? "", answer].join("\t")];
                    })
                    .join("\n"),
            ]);
        if (privilegedScc) {
            const answer = allowed(privilegedScc);
            sections.push(["privileged-scc", answer === undefined ? "" : answer ? "yes" : "no"]);
        }
        return sections.map(([section, text]) => `### ${section}\n${text}\n`).join("");
    } finally {
        process.off("exit", leave);
        leave();
    }
};

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
