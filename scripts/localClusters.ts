// Two independent local Kubernetes clusters on loopback, "ohio" and "mumbai", for the demo and the
// end-to-end tests: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built by
// scripts/toolchain.sh, and kwok playing the kubelets of nodes named like the topology's.
//
//   ts-node scripts/localClusters.ts start|stop|status
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.join(__dirname, "..");
const BIN = process.env.PLUMR_TOOLCHAIN_DIR
    ? path.join(process.env.PLUMR_TOOLCHAIN_DIR, "bin")
    : path.join(ROOT, ".cache", "toolchain", "bin");
const STATE = path.join(ROOT, ".cache", "clusters");

/** One local cluster: its name, the nodes kwok simulates, and the loopback ports it uses. */
export interface ClusterSpec {
    name: string;
    nodes: string[];
    ports: { etcd: number; etcdPeer: number; api: number; controllerManager: number; scheduler: number; kwok: number };
}

/** The sites of the shipped topology, each with its nodes, as local clusters. */
export function localClusterSpecs(): ClusterSpec[] {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const sites = project.config["plumr:topology"].value.sites as Record<string, { nodes: { name: string }[] }>;
    return Object.entries(sites).map(([name, site], i) => ({
        name,
        nodes: site.nodes.map((n) => n.name),
        ports: {
            etcd: 23790 + i * 10,
            etcdPeer: 23791 + i * 10,
            api: 6441 + i,
            controllerManager: 10360 + i * 10,
            scheduler: 10361 + i * 10,
            kwok: 10362 + i * 10,
        },
    }));
}

const dirOf = (c: ClusterSpec) => path.join(STATE, c.name);
/** Path of the admin kubeconfig of a local cluster. */
export const kubeconfigPath = (c: ClusterSpec) => path.join(dirOf(c), "kubeconfig");
const log = (message: string) => console.log(`[clusters ${new Date().toISOString().slice(11, 19)}] ${message}`);

function openssl(cwd: string, ...args: string[]): void {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, an admin client certificate and service-account keys. */
function makeCertificates(dir: string, name: string): void {
    if (fs.existsSync(path.join(dir, "admin.crt"))) return;
    openssl(
        dir,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-subj",
        `/CN=plumr-local-${name}-ca`,
    );
    const sign = (base: string, subject: string, ext: string) => {
        fs.writeFileSync(path.join(dir, `${base}.ext`), ext);
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", subject);
        openssl(
            dir,
            "x509",
            "-req",
            "-in",
            `${base}.csr`,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            `${base}.crt`,
            "-days",
            "3650",
            "-extfile",
            `${base}.ext`,
        );
    };
    sign(
        "apiserver",
        "/CN=kube-apiserver",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n",
    );
    sign("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth\n");
    openssl(dir, "genrsa", "-out", "sa.key", "2048");
    openssl(dir, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
}

function writeKubeconfig(c: ClusterSpec): void {
    const dir = dirOf(c);
    const b64 = (file: string) => fs.readFileSync(path.join(dir, file)).toString("base64");
    const config = {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: c.name, cluster: { server: `https://127.0.0.1:${c.ports.api}`, "certificate-authority-data": b64("ca.crt") } }],
        users: [{ name: `${c.name}-admin`, user: { "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key") } }],
        contexts: [{ name: c.name, context: { cluster: c.name, user: `${c.name}-admin` } }],
        "current-context": c.name,
    };
    fs.writeFileSync(kubeconfigPath(c), YAML.stringify(config), { mode: 0o600 });
}

/** The processes of one cluster, in start order. */
function processes(c: ClusterSpec): { name: string; args: string[] }[] {
    const dir = dirOf(c);
    const f = (file: string) => path.join(dir, file);
    const kubeconfig = kubeconfigPath(c);
    return [
        {
            name: "etcd",
            args: [
                "--name=default",
                `--data-dir=${f("etcd-data")}`,
                `--listen-client-urls=http://127.0.0.1:${c.ports.etcd}`,
                `--advertise-client-urls=http://127.0.0.1:${c.ports.etcd}`,
                `--listen-peer-urls=http://127.0.0.1:${c.ports.etcdPeer}`,
                `--initial-advertise-peer-urls=http://127.0.0.1:${c.ports.etcdPeer}`,
                `--initial-cluster=default=http://127.0.0.1:${c.ports.etcdPeer}`,
                "--quota-backend-bytes=2147483648",
            ],
        },
        {
            name: "kube-apiserver",
            args: [
                `--etcd-servers=http://127.0.0.1:${c.ports.etcd}`,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                `--secure-port=${c.ports.api}`,
                `--tls-cert-file=${f("apiserver.crt")}`,
                `--tls-private-key-file=${f("apiserver.key")}`,
                `--client-ca-file=${f("ca.crt")}`,
                `--service-account-key-file=${f("sa.pub")}`,
                `--service-account-signing-key-file=${f("sa.key")}`,
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                "--profiling=false",
            ],
        },
        {
            name: "kube-controller-manager",
            args: [
                `--kubeconfig=${kubeconfig}`,
                "--bind-address=127.0.0.1",
                `--secure-port=${c.ports.controllerManager}`,
                "--leader-elect=false",
                `--service-account-private-key-file=${f("sa.key")}`,
                `--root-ca-file=${f("ca.crt")}`,
                "--profiling=false",
            ],
        },
        {
            name: "kube-scheduler",
            args: [
                `--kubeconfig=${kubeconfig}`,
                "--bind-address=127.0.0.1",
                `--secure-port=${c.ports.scheduler}`,
                "--leader-elect=false",
                "--profiling=false",
            ],
        },
        {
            name: "kwok",
            args: [
                `--kubeconfig=${kubeconfig}`,
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                `--server-address=127.0.0.1:${c.ports.kwok}`,
                "--cidr=10.244.0.0/16",
                // Heartbeat through node leases, as kubelets do: without them a node looks lost
                // between two status updates and its pods flip to not ready.
                "--node-lease-duration-seconds=40",
                "--node-ip=127.0.0.1",
            ],
        },
    ];
}

const pidFile = (c: ClusterSpec, name: string) => path.join(dirOf(c), `${name}.pid`);

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

function runningPid(c: ClusterSpec, name: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(pidFile(c, name), "utf8"));
        return pid > 0 && alive(pid) ? pid : undefined;
    } catch {
        return undefined;
    }
}

function startProcess(c: ClusterSpec, name: string, args: string[]): void {
    if (runningPid(c, name)) return;
    const binary = path.join(BIN, name);
    if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run scripts/toolchain.sh first`);
    const out = fs.openSync(path.join(dirOf(c), `${name}.log`), "a");
    const child: ChildProcess = spawn(binary, args, { detached: true, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    fs.writeFileSync(pidFile(c, name), String(child.pid));
    child.unref();
}

/** A minimal client for a local cluster's API, authenticated with its admin certificate. */
export class KubeApi {
    private readonly agent: https.Agent;
    constructor(private readonly cluster: ClusterSpec) {
        const dir = dirOf(cluster);
        this.agent = new https.Agent({
            ca: fs.readFileSync(path.join(dir, "ca.crt")),
            cert: fs.readFileSync(path.join(dir, "admin.crt")),
            key: fs.readFileSync(path.join(dir, "admin.key")),
        });
    }

    request(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }> {
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: "127.0.0.1",
                    port: this.cluster.ports.api,
                    path: urlPath,
                    method,
                    agent: this.agent,
                    headers: { "content-type": "application/json" },
                    timeout: 10_000,
                },
                (res) => {
                    let data = "";
                    res.on("data", (chunk) => (data += chunk));
                    res.on("end", () => {
                        let parsed: unknown = data;
                        try {
                            parsed = JSON.parse(data);
                        } catch {
                            // plain-text answers such as /readyz
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed });
                    });
                },
            );
            req.on("error", reject);
            req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
            if (body !== undefined) req.write(JSON.stringify(body));
            req.end();
        });
    }

    async get(urlPath: string): Promise<any> {
        const res = await this.request("GET", urlPath);
        if (res.status !== 200) throw new Error(`GET ${urlPath} on ${this.cluster.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        return res.body;
    }

    /** Creates an object unless it exists already. */
    async ensure(collection: string, object: unknown): Promise<void> {
        const res = await this.request("POST", collection, object);
        if (res.status !== 201 && res.status !== 409)
            throw new Error(`POST ${collection} on ${this.cluster.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (err) {
            last = err;
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Starts a cluster (idempotent) and waits until its nodes are Ready and the NAD CRD is served. */
export async function startCluster(c: ClusterSpec): Promise<void> {
    const dir = dirOf(c);
    fs.mkdirSync(dir, { recursive: true });
    makeCertificates(dir, c.name);
    writeKubeconfig(c);
    const api = new KubeApi(c);
    for (const p of processes(c)) {
        startProcess(c, p.name, p.args);
        if (p.name === "kube-apiserver") {
            await waitFor(`${c.name}'s API server (log: ${path.join(dir, "kube-apiserver.log")})`, 120_000, async () =>
                (await api.request("GET", "/readyz")).status === 200 ? true : undefined,
            );
        }
    }
    for (const node of c.nodes) {
        await api.ensure("/api/v1/nodes", {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: node,
                labels: { "kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
                annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            },
        });
    }
    const crd = YAML.parse(fs.readFileSync(path.join(ROOT, "manifests", "network-attachment-definition-crd.yaml"), "utf8"));
    await api.ensure("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    await waitFor(`${c.name}'s nodes to be Ready`, 120_000, async () => {
        const nodes = (await api.get("/api/v1/nodes")).items as any[];
        const ready = nodes.filter((n) => n.status?.conditions?.some((x: any) => x.type === "Ready" && x.status === "True"));
        return ready.length === c.nodes.length ? true : undefined;
    });
    await waitFor(`${c.name}'s NetworkAttachmentDefinition CRD`, 60_000, async () =>
        (await api.request("GET", "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions")).status === 200 ? true : undefined,
    );
    log(`${c.name}: up at https://127.0.0.1:${c.ports.api} with nodes ${c.nodes.join(", ")}; kubeconfig ${kubeconfigPath(c)}`);
}

/** Stops a cluster's processes (newest first) and waits until they are gone; keeps its data. */
export async function stopCluster(c: ClusterSpec, wipe = false): Promise<void> {
    for (const p of [...processes(c)].reverse()) {
        const pid = runningPid(c, p.name);
        if (pid) {
            process.kill(pid, "SIGTERM");
            await waitFor(`${p.name} of ${c.name} to exit`, 20_000, async () => (alive(pid) ? undefined : true)).catch(() =>
                process.kill(pid, "SIGKILL"),
            );
        }
        fs.rmSync(pidFile(c, p.name), { force: true });
    }
    if (wipe) fs.rmSync(dirOf(c), { recursive: true, force: true });
    log(`${c.name}: stopped${wipe ? " and wiped" : ""}`);
}

/** Which of a cluster's processes are running. */
export function clusterStatus(c: ClusterSpec): Record<string, number | undefined> {
    return Object.fromEntries(processes(c).map((p) => [p.name, runningPid(c, p.name)]));
}

async function main(command: string | undefined): Promise<void> {
    const clusters = localClusterSpecs();
    switch (command) {
        case "start":
            for (const c of clusters) await startCluster(c);
            break;
        case "stop":
            for (const c of clusters) await stopCluster(c, process.argv.includes("--wipe"));
            break;
        case "status":
            for (const c of clusters) console.log(c.name, JSON.stringify(clusterStatus(c)));
            break;
        default:
            console.error("usage: ts-node scripts/localClusters.ts start|stop [--wipe]|status");
            process.exit(2);
    }
}

if (require.main === module) {
    main(process.argv[2]).catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
