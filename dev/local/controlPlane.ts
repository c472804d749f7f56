// The control plane of a local cluster: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (for the nodes that are not real), on this machine's loopback, each in
// the cluster's control-plane cgroup.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { joinCgroupCommand } from "./cgroups";
import { BIN, ClusterSpec, clusterCgroup, dirOf, kubeconfigPath } from "./clusterSpecs";
import { KubeApi } from "./kubeClient";
import { runningPid, startDetached, stopPid, waitFor } from "../../lib/processes";

const ROOT = path.join(__dirname, "..", "..");

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

/** The control plane's processes, in start order. */
export function processes(c: ClusterSpec): { name: string; args: string[] }[] {
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
                // exec and logs reach a real node's kubelet at its InternalIP (never by a name this
                // machine's resolver would look up), authenticated by a client certificate.
                "--kubelet-preferred-address-types=InternalIP",
                `--kubelet-client-certificate=${f("admin.crt")}`,
                `--kubelet-client-key=${f("admin.key")}`,
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

export const pidFile = (c: ClusterSpec, name: string) => path.join(dirOf(c), `${name}.pid`);
const controlPlaneCgroup = (c: ClusterSpec) => `${clusterCgroup(c)}/control-plane`;

/** Starts a control-plane process in the cluster's control-plane cgroup, unless it runs already. */
function startProcess(c: ClusterSpec, name: string, args: string[]): void {
    if (runningPid(pidFile(c, name))) return;
    const binary = path.join(BIN, name);
    if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run dev/setup/toolchain.sh first`);
    const procs = joinCgroupCommand(controlPlaneCgroup(c));
    startDetached("/bin/sh", ["-c", `${procs}; exec "$@"`, name, binary, ...args], pidFile(c, name), path.join(dirOf(c), `${name}.log`));
}

/** Starts one cluster's control plane (idempotent) and waits until its API server answers. */
export async function startControlPlane(c: ClusterSpec): Promise<KubeApi> {
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
    // Multus's NetworkAttachmentDefinitions, and OpenShift's SecurityContextConstraints, which the
    // program creates for the OpenShift sites the local clusters stand in for (nothing enforces them here).
    for (const file of ["network-attachment-definition-crd.yaml", "security-context-constraints-crd.yaml"]) {
        const crd = YAML.parse(fs.readFileSync(path.join(ROOT, "dev", "manifests", file), "utf8"));
        await api.ensure("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    }
    return api;
}

/** Stops the control plane's processes, newest first, each given time to stop cleanly (etcd above all). */
export function stopControlPlane(c: ClusterSpec): void {
    for (const p of [...processes(c)].reverse()) {
        const pid = runningPid(pidFile(c, p.name));
        if (pid) stopPid(pid);
        fs.rmSync(pidFile(c, p.name), { force: true });
    }
}
