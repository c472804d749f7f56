// Real nodes for the local clusters: a kubelet and containerd (with runc, Multus and the CNI
// plugins) that run pods for real. Each node lives in a network namespace and a mount namespace of
// its own, so that two nodes never share a bridge, a pod network, a hostPath or a socket, and
// nothing of a node outlives it: every process it starts is in its own cgroup, every mount in its
// mount namespace, every interface in its network namespace.
//
// What a node sees of this machine: its own /run, /var/lib and /var/log (directories under its
// state directory), the machine's cgroup hierarchies, and copies of the kernel settings the kubelet
// insists on, so that the machine's own values are never changed. It reaches its cluster's API
// server on 127.0.0.1:6443 of its own namespace, relayed through a Unix socket to the server on this
// machine's loopback; the API server reaches its kubelet through a veth with a /30 from 198.18.0.0/15
// (reserved for lab networks), and the node's pods (its pod proxy) through the same veth: the only
// routes this machine's namespace gets.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hierarchies, joinCgroupCommand, removeCgroupTree } from "./cgroups";
import {
    BIN,
    ClusterAccessFiles,
    CNI_PLUGINS,
    containerdConfig,
    KUBELET_SYSCTLS,
    kubeconfig,
    NODE_CNI_BIN_DIR,
    kubeletConfig,
    LocalImages,
    localImages,
    multusConfig,
    NODE_API_PORT,
    RealNode,
} from "./nodeConfig";
import { alive, runningPid, startDetached, waitFor } from "../../lib/processes";

export { localImages, RealNode } from "./nodeConfig";

/** The CNI plugins every real node has, in NODE_CNI_BIN_DIR. */
export const NODE_CNI_PLUGINS = ["multus", "bridge", "macvlan", "static", "host-local", "loopback"];

/** Where a node's CNI plugins are, seen from this machine. */
export const nodeCniBinDir = (node: RealNode) => path.join(node.dir, "var-lib", path.relative("/var/lib", NODE_CNI_BIN_DIR));

/** A command line that joins the node's daemon cgroup in every hierarchy, then runs `argv`. */
function inNodeCgroup(node: RealNode, argv: string[]): [string, string[]] {
    return ["/bin/sh", ["-c", `${joinCgroupCommand(`${node.cgroup}/node`)}; exec "$@"`, "plumr-node", ...argv]];
}

// ---------------------------------------------------------------------------------------------
// namespaces and processes

export function ip(...args: string[]): string {
    return execFileSync("ip", args, { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "pipe"] });
}

export function netnsExists(name: string): boolean {
    return fs.existsSync(path.join("/run/netns", name));
}

const pidFile = (node: RealNode, name: string) => path.join(node.dir, `${name}.pid`);
const logFile = (node: RealNode, name: string) => path.join(node.dir, "logs", `${name}.log`);

/** The process that holds the node's mount namespace open; every node process enters through it. */
const holderPid = (node: RealNode) => runningPid(pidFile(node, "holder"));

/** `nsenter` arguments that enter the node's mount and network namespaces. */
function enter(node: RealNode, workdir = node.dir): string[] {
    const pid = holderPid(node);
    if (!pid) throw new Error(`node ${node.name} of ${node.cluster} is not running`);
    return ["nsenter", `--target=${pid}`, "--mount", "--net", `--wd=${workdir}`, "--"];
}

/** Runs a command inside the node (its mount and network namespaces) and returns its output. */
export function inNode(node: RealNode, argv: string[], timeoutMs = 60_000): string {
    const [command, ...args] = [...enter(node), ...argv];
    return execFileSync(command, args, { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] });
}

/** ctr against the node's containerd, in the namespace where the kubelet keeps its containers. */
export function nodeCtr(node: RealNode, args: string[], timeoutMs = 60_000): string {
    return inNode(node, [path.join(BIN, "ctr"), "--address", "/run/containerd/containerd.sock", "-n", "k8s.io", ...args], timeoutMs);
}

function startInNode(node: RealNode, name: string, argv: string[], env: NodeJS.ProcessEnv = process.env, insideNode = true): void {
    if (runningPid(pidFile(node, name))) return;
    const [command, args] = inNodeCgroup(node, insideNode ? [...enter(node), ...argv] : argv);
    startDetached(command, args, pidFile(node, name), logFile(node, name), env, node.dir);
}

/** Why a node is not running, from the last line its dead daemon logged; undefined while it runs. */
export function nodeFailure(node: RealNode): string | undefined {
    for (const name of ["holder", "containerd", "kubelet"]) {
        if (runningPid(pidFile(node, name))) continue;
        const lines = fs.existsSync(logFile(node, name)) ? fs.readFileSync(logFile(node, name), "utf8").trim().split("\n") : [];
        return `the ${name} of node ${node.name} exited: ${lines.at(-1) ?? "(no log)"} (log: ${logFile(node, name)})`;
    }
    return undefined;
}

/** Whether the node's holder, containerd and kubelet are all running. */
export function nodeRunning(node: RealNode): boolean {
    return ["holder", "containerd", "kubelet"].every((name) => runningPid(pidFile(node, name)) !== undefined);
}

/** The node's configuration and state directories, fresh: what its daemons read, and what it mounts. */
function writeNodeFiles(node: RealNode, access: ClusterAccessFiles, images: LocalImages): void {
    const cni = path.join(node.dir, "cni");
    const cniBin = nodeCniBinDir(node);
    for (const dir of ["var-lib", "var-log", "logs", "sysctl", "cni/net.d", cniBin])
        fs.mkdirSync(path.resolve(node.dir, dir), { recursive: true });
    for (const plugin of NODE_CNI_PLUGINS) {
        const link = path.join(cniBin, plugin);
        fs.rmSync(link, { force: true });
        fs.symlinkSync(path.join(CNI_PLUGINS, plugin), link);
    }
    fs.writeFileSync(path.join(cni, "net.d", "00-multus.conf"), multusConfig(node));
    fs.writeFileSync(path.join(node.dir, "kubeconfig"), kubeconfig(node, access), { mode: 0o600 });
    fs.writeFileSync(path.join(node.dir, "containerd.toml"), containerdConfig(node, images));
    fs.writeFileSync(path.join(node.dir, "kubelet.yaml"), kubeletConfig(node, access));
    // Pods resolve nothing: no name server is reachable from the nodes' namespaces.
    fs.writeFileSync(path.join(node.dir, "resolv.conf"), "# real local node: no name server\noptions ndots:1\n");
    for (const [name, value] of Object.entries(KUBELET_SYSCTLS))
        fs.writeFileSync(path.join(node.dir, "sysctl", name.replace(/\//g, ".")), `${value}\n`);
}

/** The node's own /run, /var/lib, /var/log, cgroup mounts and kernel settings, inside its mount namespace. */
function mountNodeFilesystems(node: RealNode): void {
    const q = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
    const lines = [
        "set -eu",
        "mount -t tmpfs -o mode=0755 plumr-node-run /run",
        "mkdir -p /run/netns /run/containerd",
        `mount --bind ${q(path.join(node.dir, "var-lib"))} /var/lib`,
        `mount --bind ${q(path.join(node.dir, "var-log"))} /var/log`,
        // `ip netns exec` gave the node a sysfs of its own network namespace, without the
        // machine's cgroup hierarchies: mount them again, the same hierarchies.
        "mount -t tmpfs -o mode=0755 plumr-node-cgroup /sys/fs/cgroup",
        ...hierarchies().flatMap((h) => [
            `mkdir -p ${h.mountPoint}`,
            h.type === "cgroup2" ? `mount -t cgroup2 cgroup2 ${h.mountPoint}` : `mount -t cgroup -o ${h.options} cgroup ${h.mountPoint}`,
        ]),
        ...Object.keys(KUBELET_SYSCTLS).map(
            (name) => `mount --bind ${q(path.join(node.dir, "sysctl", name.replace(/\//g, ".")))} /proc/sys/${name}`,
        ),
    ];
    inNode(node, ["/bin/sh", "-c", lines.join("\n")]);
}

// ---------------------------------------------------------------------------------------------
// lifecycle

/** Network: the node's namespace, its veth to this machine (for the API server) and to its site router. */
function createNodeNetwork(node: RealNode, routerNetns: string, routerInterface: string): void {
    ip("netns", "add", node.netns);
    const inNs = (...args: string[]) => ip("-n", node.netns, ...args);
    inNs("link", "set", "lo", "up");
    ip("link", "add", node.hostVeth, "type", "veth", "peer", "name", "kapi", "netns", node.netns);
    ip("addr", "add", `${node.hostAddress}/30`, "dev", node.hostVeth);
    ip("link", "set", node.hostVeth, "up");
    inNs("addr", "add", `${node.address}/30`, "dev", "kapi");
    inNs("link", "set", "kapi", "up");
    // The API server's pod proxy (as a scrape of the pods' metrics goes through it) reaches the
    // node's pods through the node; the route goes with the veth.
    ip("route", "replace", node.podSubnet, "via", node.address, "dev", node.hostVeth);
    ip("-n", node.netns, "link", "add", "eth0", "type", "veth", "peer", "name", routerInterface, "netns", routerNetns);
    inNs("addr", "add", `${node.underlay.address}/${node.underlay.prefixLength}`, "dev", "eth0");
    inNs("link", "set", "eth0", "up");
    ip("-n", routerNetns, "link", "set", routerInterface, "master", "vpc", "up");
    inNs("route", "add", "default", "via", node.underlay.router);
    // A Kubernetes node forwards (kubeadm's preflight requires it) from the start, not only once a
    // pod's bridge plugin has switched it on: the node agent checks the uplink's forwarding.
    ip("netns", "exec", node.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
}

/**
 * Starts a real node (idempotent: a node whose processes all run is left alone; anything else of
 * it is removed first, so every start is a fresh machine) and imports the local images.
 */
export async function startNode(
    node: RealNode,
    access: ClusterAccessFiles,
    router: { netns: string; interface: string },
    log: (message: string) => void,
): Promise<void> {
    if (nodeRunning(node)) return;
    removeNode(node);
    const images = localImages();
    createNodeNetwork(node, router.netns, router.interface);
    writeNodeFiles(node, access, images);

    // The holder: a process in the node's network namespace and a new, private mount namespace.
    const [sh, holderArgs] = inNodeCgroup(node, [
        "ip",
        "netns",
        "exec",
        node.netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sleep",
        "infinity",
    ]);
    const holder = startDetached(sh, holderArgs, pidFile(node, "holder"), logFile(node, "holder"));
    // The holder runs sh, then ip (whose own mount namespace is a passing one), then unshare, and is
    // in the node's namespaces only once it runs sleep: mounts made earlier would be lost.
    await waitFor(
        `node ${node.name}'s namespaces`,
        10_000,
        async () => (fs.readFileSync(`/proc/${holder}/comm`, "utf8").trim() === "sleep" ? true : undefined),
        20,
    );
    mountNodeFilesystems(node);

    const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, TMPDIR: "/var/lib/tmp" };
    inNode(node, ["mkdir", "-p", "/var/lib/tmp", "/var/lib/containerd-tmp"]);
    // The API server, relayed from the node's 127.0.0.1 through a Unix socket to this machine's loopback.
    startInNode(
        node,
        "relay-host",
        ["socat", "UNIX-LISTEN:api.sock,fork,mode=600,unlink-early", `TCP:127.0.0.1:${access.apiPort}`],
        env,
        false,
    );
    await waitFor(
        `node ${node.name}'s API relay`,
        10_000,
        async () => (fs.existsSync(path.join(node.dir, "api.sock")) ? true : undefined),
        50,
    );
    startInNode(node, "relay-node", ["socat", `TCP-LISTEN:${NODE_API_PORT},bind=127.0.0.1,fork,reuseaddr`, "UNIX-CONNECT:api.sock"], env);

    startInNode(node, "containerd", ["containerd", "--config", path.join(node.dir, "containerd.toml")], env);
    await waitFor(`containerd of node ${node.name} (log: ${logFile(node, "containerd")})`, 30_000, async () => {
        inNode(node, ["test", "-S", "/run/containerd/containerd.sock"]);
        return true;
    });
    for (const image of Object.values(images) as { name: string; archive: string }[])
        nodeCtr(node, ["images", "import", image.archive], 300_000);
    log(
        `${node.cluster}: real node ${node.name} imported ${Object.values(images)
            .map((i: { name: string }) => i.name)
            .join(", ")}`,
    );

    startInNode(
        node,
        "kubelet",
        [
            "kubelet",
            `--config=${path.join(node.dir, "kubelet.yaml")}`,
            `--kubeconfig=${path.join(node.dir, "kubeconfig")}`,
            `--hostname-override=${node.name}`,
            `--node-ip=${node.address}`,
            // What a kubelet may say of itself; the pool's label is set through the API once it has
            // registered, as an administrator does (node-role.kubernetes.io/* is not the kubelet's to set).
            `--node-labels=plumr.local/real-node=true,topology.kubernetes.io/zone=${node.zone},topology.kubernetes.io/region=${node.zone.slice(0, -1)}`,
            "--v=1",
        ],
        env,
    );
}

/**
 * Removes everything of a node: its processes and pods (all in its cgroup), its mount namespace
 * (gone with its last process), its network namespace and its state. Synchronous and safe to run
 * on a node that is half there or not there at all.
 */
export function removeNode(node: RealNode): void {
    removeCgroupTree(node.cgroup);
    for (const name of ["holder", "relay-host", "relay-node", "containerd", "kubelet"]) {
        const pid = runningPid(pidFile(node, name));
        if (pid && alive(pid)) process.kill(pid, "SIGKILL");
        fs.rmSync(pidFile(node, name), { force: true });
    }
    if (netnsExists(node.netns)) ip("netns", "del", node.netns);
    try {
        ip("link", "del", node.hostVeth);
    } catch {
        // gone with the namespace
    }
    // Keep the logs of the last run; everything else starts fresh.
    for (const entry of ["var-lib", "var-log", "cni", "sysctl", "api.sock"])
        fs.rmSync(path.join(node.dir, entry), { recursive: true, force: true });
    fs.mkdirSync(path.join(node.dir, "logs"), { recursive: true });
}
