// The data-plane twin: the two sites' routers, endpoint nodes and endpoint pods as network
// namespaces on this machine, attached with the real CNI plugins using the configs the program
// renders, and linked as the AWS prerequisites would link them. Root only; everything it makes it
// removes again in `destroy`, also after a failure or an interruption (Ctrl-C, SIGTERM), and what a
// run killed hard left behind is removed by the next twin with the same prefix.
import { ChildProcess, execFileSync, spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatIp, gateway, parseCidr } from "../../planner/addressing/addresses";
import { onInterrupt } from "../../lib/interrupts";

const ROOT = path.join(__dirname, "..", "..");
export const CNI_DIR = path.join(process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain"), "cni");

/** One endpoint as the program rendered it. */
export interface RenderedEndpoint {
    site: string;
    /** The NetworkAttachmentDefinition's spec.config. */
    attachmentConfig: string;
    /** The pod's k8s.v1.cni.cncf.io/networks annotation. */
    networks: string;
    /** The rendered plumr config of each plumr container, by container name: the Secret's key that container reads. */
    plumrConfigs: Record<string, string>;
    /** The endpoint pod's spec. */
    podSpec: any;
    /** The site's bridge range and the end's node range and gateway. */
    bridgeRange: string;
    nodeRange: string;
    gateway: string;
    /** Ranges of the site's other worker nodes. */
    otherNodeRanges: string[];
    /** The end's node, and the site's node agent's environment (its DaemonSet's). */
    node: string;
    nodeAgentEnv: Record<string, string>;
}

export function ip(...args: string[]): string {
    return execFileSync("ip", args, { encoding: "utf8", timeout: 10_000 });
}

/** Runs a command inside a namespace and returns its output. */
export function inNs(ns: string, command: string[], timeoutMs = 20_000, env?: NodeJS.ProcessEnv): string {
    return execFileSync("ip", ["netns", "exec", ns, ...command], {
        encoding: "utf8",
        timeout: timeoutMs,
        stdio: ["ignore", "pipe", "pipe"],
        ...(env && { env }),
    });
}

/** Whether this machine lets a twin be built: root and network namespaces (attaching pods needs more, see twinUnavailable). */
export function namespacesUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) return "the data-plane twin needs root (network namespaces)";
    try {
        ip("netns", "add", "plumr-probe");
        ip("netns", "del", "plumr-probe");
    } catch (err) {
        return `network namespaces are not available here: ${err}`;
    }
    return undefined;
}

/** Whether this machine lets the twin run: root, network namespaces, the CNI plugins built, the tools the tests use. */
export function twinUnavailable(): string | undefined {
    if (!fs.existsSync(path.join(CNI_DIR, "bridge"))) return `the CNI plugins are not built in ${CNI_DIR} (dev/setup/toolchain.sh)`;
    for (const tool of ["socat", "iperf3", "ping"]) {
        try {
            execFileSync("sh", ["-c", `command -v ${tool}`]);
        } catch {
            return `${tool} is not installed (dev/setup/ensure-deps.sh installs it)`;
        }
    }
    return namespacesUnavailable();
}

/** Waits until `check` passes (an exception counts as not yet); fails after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        try {
            if (check()) return;
        } catch {
            // not yet
        }
        await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`timed out waiting for ${what}`);
}

/**
 * Every namespace a twin makes is named `plumr-twin-<prefix>-<site>-<role>`: role r is the site's router, n its
 * endpoint node, p its endpoint pod, w<k> its k-th other worker, x-<name> an extra pod. The common start keeps them
 * apart from other software's namespaces, and this one grammar both makes the names and recognises a killed run's
 * leftovers, so a twin only ever removes namespaces it could have made itself.
 */
function namespacePattern(prefix: string): RegExp {
    // Letters and digits only: no dash that could make one prefix's names another's, nothing special in the pattern.
    if (!/^[a-z0-9]+$/.test(prefix)) throw new Error(`twin prefix "${prefix}" must be lowercase letters and digits`);
    return new RegExp(`^plumr-twin-${prefix}-\\d+-(r|n|p|w\\d+|x-[a-z0-9]+)$`);
}

/** Whether `name` is one of the namespaces a twin with this prefix makes. */
export const isTwinNamespace = (prefix: string, name: string): boolean => namespacePattern(prefix).test(name);

/** The name of one of a twin's namespaces; refuses one that isTwinNamespace would not recognise. */
export function twinNamespace(prefix: string, site: number, role: string): string {
    const name = `plumr-twin-${prefix}-${site}-${role}`;
    if (!isTwinNamespace(prefix, name)) throw new Error(`"${name}" is not a name of the twin's naming scheme`);
    return name;
}

/** The network namespaces on this machine. */
export function listNamespaces(): string[] {
    return ip("netns", "list")
        .split("\n")
        .map((line) => line.split(" ")[0])
        .filter(Boolean);
}

const NETNS_ETC = "/etc/netns";

/** Where `ip netns exec` finds the files it shows a namespace's processes over /etc's: /etc/netns/<ns>. */
export function namespaceEtc(ns: string): string {
    if (ns.includes("/") || ns === "." || ns === "..") throw new Error(`"${ns}" is not a namespace name`);
    return path.join(NETNS_ETC, ns);
}

/** The namespaces that have files under /etc/netns, whether or not the namespace still exists. */
function namespacesWithEtc(): string[] {
    try {
        return fs.readdirSync(NETNS_ETC);
    } catch {
        return [];
    }
}

/**
 * Kills the processes in a namespace, then removes it and its files under /etc/netns; one already gone is no error.
 * Returns how many processes it killed.
 */
export function removeNamespace(ns: string): number {
    let pids: number[] = [];
    try {
        pids = ip("netns", "pids", ns).split("\n").filter(Boolean).map(Number);
    } catch {
        // already gone
    }
    for (const pid of pids) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // it exited meanwhile
        }
    }
    try {
        ip("netns", "del", ns);
    } catch {
        // removed meanwhile, or never there
    }
    fs.rmSync(namespaceEtc(ns), { recursive: true, force: true });
    return pids.length;
}

/**
 * A twin's lease on its prefix: which process holds it (pid and start time, as a pid can be reused) and its temp dir.
 * It lives in /run like the namespaces, so that a twin tells a killed run's leftovers (holder gone) from a run still
 * going (holder alive), whose namespaces it must leave alone.
 */
interface Lease {
    pid: number;
    started?: string;
    dir: string;
}

export const leaseFile = (prefix: string) => path.join("/run/plumr-twin", `${prefix}.json`);

/** When a process started (clock ticks after boot: field 22 of /proc/<pid>/stat), or undefined once it is gone. */
function startedAt(pid: number): string | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    } catch {
        return undefined;
    }
}

function readLease(prefix: string): Lease | undefined {
    try {
        const lease: Lease = JSON.parse(fs.readFileSync(leaseFile(prefix), "utf8"));
        // Only ever delete a directory that this prefix's twin could have made.
        return path.basename(lease.dir).startsWith(`plumr-twin-${prefix}-`) ? lease : undefined;
    } catch {
        return undefined;
    }
}

function takeLease(prefix: string, dir: string): void {
    const lease: Lease = { pid: process.pid, started: startedAt(process.pid), dir };
    fs.mkdirSync(path.dirname(leaseFile(prefix)), { recursive: true });
    try {
        // Exclusive: of two twins started at the same moment with one prefix, the second stops here.
        fs.writeFileSync(leaseFile(prefix), JSON.stringify(lease) + "\n", { flag: "wx" });
    } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`the twin prefix "${prefix}" is taken: ${err instanceof Error ? err.message : err}`, { cause: err });
    }
}

/**
 * Removes what an earlier twin with this prefix left when its process was killed hard (SIGKILL, power loss): its
 * namespaces with the processes in them and their files under /etc/netns, its temp dir and lease; says so on stderr.
 * Refuses while that twin's process still runs.
 */
function removeLeftovers(prefix: string): void {
    const mine = namespacePattern(prefix);
    const lease = readLease(prefix);
    if (lease && lease.started !== undefined && startedAt(lease.pid) === lease.started)
        throw new Error(`the twin prefix "${prefix}" is in use by process ${lease.pid}`);
    const stale = listNamespaces().filter((ns) => mine.test(ns));
    const killed = stale.reduce((n, ns) => n + removeNamespace(ns), 0);
    // Files of namespaces that were removed before the run was killed.
    const orphaned = namespacesWithEtc().filter((ns) => mine.test(ns));
    for (const ns of orphaned) removeNamespace(ns);
    if (lease) fs.rmSync(lease.dir, { recursive: true, force: true });
    fs.rmSync(leaseFile(prefix), { force: true });
    if (stale.length === 0 && orphaned.length === 0 && !lease) return;
    const what = [`${stale.length} namespaces (${stale.join(", ")})`, `${killed} processes in them`];
    if (orphaned.length > 0) what.push(`the /etc/netns files of ${orphaned.join(", ")}`);
    if (lease) what.push(`temp dir ${lease.dir}`);
    console.error(`twin "${prefix}": removed what a killed earlier run left behind: ${what.join(", ")}`);
}

/**
 * What Multus hands a CNI plugin on stdin: the attachment's config, named after the attachment
 * when it has no name, plus the pod's requested IPs as runtime config only when the plugin
 * declares the `ips` capability (the CNI convention).
 */
export function multusConfig(attachmentConfig: string, networks: string): string {
    const config = JSON.parse(attachmentConfig);
    const [selection] = JSON.parse(networks);
    config.name ??= selection.name;
    if (config.capabilities?.ips === true && selection.ips) config.runtimeConfig = { ips: selection.ips };
    return JSON.stringify(config);
}

/** A supervised process: restarted after it exits when the restart rule says Always, like the kubelet does. */
export class Supervised {
    private child?: ChildProcess;
    private stopped = false;
    starts = 0;

    constructor(
        private readonly ns: string,
        private readonly command: string[],
        private readonly env: Record<string, string>,
        private readonly restartPolicy: string | undefined,
        private readonly logFile: string,
    ) {
        this.start();
    }

    private start(): void {
        if (this.stopped) return;
        const log = fs.openSync(this.logFile, "a");
        this.child = spawn("ip", ["netns", "exec", this.ns, ...this.command], {
            env: { ...process.env, ...this.env },
            detached: true,
            stdio: ["ignore", log, log],
        });
        fs.closeSync(log);
        this.starts++;
        this.child.on("exit", () => {
            if (!this.stopped && this.restartPolicy === "Always") setTimeout(() => this.start(), 500);
        });
    }

    /** Kills the process and everything it started, as an OOM kill or crash would. */
    kill(): void {
        try {
            if (this.child?.pid) process.kill(-this.child.pid, "SIGKILL");
        } catch {
            // the process group has already exited
        }
    }

    stop(): void {
        this.stopped = true;
        this.kill();
    }
}

export type Attachment = "bridge" | "macvlan";

/** Which plumr container startPlumr starts, and where. */
export interface PlumrContainer {
    /** The pod's namespace: by default the site's endpoint pod. */
    pod?: string;
    /** The endpoint whose pod spec and configs it takes: by default the site's. */
    endpoint?: RenderedEndpoint;
    /** The container's name: by default the endpoint's only plumr container. */
    container?: string;
}

/** The user and group the twin runs an endpoint's workload as: nobody, who owns nothing on this machine. */
export const WORKLOAD_UID = 65534;

/**
 * The twin of two sites, each with a router, one endpoint node and one endpoint pod. Its namespaces are named after
 * `prefix` (lowercase letters and digits); one prefix has one twin at a time.
 */
export class Twin {
    readonly dir: string;
    private readonly namespaces: string[] = [];
    /** The supervised plumr container started last in each site's endpoint pod, by site index. */
    readonly plumr: Supervised[] = [];
    /** Every container the twin started, in every pod. */
    private readonly containers: Supervised[] = [];
    private readonly unregister: () => void;

    constructor(
        readonly prefix: string,
        readonly endpoints: RenderedEndpoint[],
        readonly attachment: Attachment,
    ) {
        removeLeftovers(prefix);
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `plumr-twin-${prefix}-`));
        takeLease(prefix, this.dir);
        // Interrupted, the process removes the twin before it exits; a normal run does it in destroy.
        this.unregister = onInterrupt(() => this.destroy());
    }

    router = (i: number) => twinNamespace(this.prefix, i, "r");
    node = (i: number) => twinNamespace(this.prefix, i, "n");
    /** The site's k-th other worker node (no endpoint on it). */
    worker = (i: number, k: number) => twinNamespace(this.prefix, i, `w${k}`);
    pod = (i: number) => twinNamespace(this.prefix, i, "p");
    private underlay = (i: number, host: number) => `192.168.${10 + i}.${host}`;

    private addNs(name: string): void {
        ip("netns", "add", name);
        this.namespaces.push(name);
        inNs(name, ["ip", "link", "set", "lo", "up"]);
    }

    /** Routers linked to each other (the Transit Gateway peering), each with its site's endpoint node. */
    build(): void {
        this.endpoints.forEach((_, i) => {
            for (const ns of [this.router(i), this.node(i), this.pod(i)]) this.addNs(ns);
            for (const ns of [this.router(i), this.node(i)]) inNs(ns, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
            ip("link", "add", "eth0", "netns", this.node(i), "type", "veth", "peer", "name", "n0", "netns", this.router(i));
            inNs(this.router(i), ["ip", "addr", "add", `${this.underlay(i, 1)}/24`, "dev", "n0"]);
            inNs(this.router(i), ["ip", "link", "set", "n0", "up"]);
            inNs(this.node(i), ["ip", "addr", "add", `${this.underlay(i, 10)}/24`, "dev", "eth0"]);
            inNs(this.node(i), ["ip", "link", "set", "eth0", "up"]);
            inNs(this.node(i), ["ip", "route", "add", "default", "via", this.underlay(i, 1)]);
            // The site's other workers: reachable through the router, each answering on its
            // range's gateway address as its bridge would.
            this.endpoints[i].otherNodeRanges.forEach((range, k) => {
                const worker = this.worker(i, k);
                this.addNs(worker);
                ip("link", "add", "eth0", "netns", worker, "type", "veth", "peer", "name", `w${k}`, "netns", this.router(i));
                inNs(this.router(i), ["ip", "link", "set", `w${k}`, "up"]);
                inNs(this.router(i), ["ip", "addr", "add", `${this.underlay(i, 1)}/32`, "dev", `w${k}`]);
                inNs(this.router(i), ["ip", "route", "add", `${this.underlay(i, 20 + k)}/32`, "dev", `w${k}`]);
                inNs(this.router(i), ["ip", "route", "add", range, "via", this.underlay(i, 20 + k)]);
                inNs(worker, ["ip", "addr", "add", `${this.underlay(i, 20 + k)}/32`, "dev", "eth0"]);
                inNs(worker, ["ip", "link", "set", "eth0", "up"]);
                inNs(worker, ["ip", "route", "add", `${this.underlay(i, 1)}/32`, "dev", "eth0"]);
                inNs(worker, ["ip", "route", "add", "default", "via", this.underlay(i, 1)]);
                const cidr = parseCidr(range);
                if ("error" in cidr) throw new Error(`bad node range ${range}`);
                inNs(worker, ["ip", "addr", "add", `${formatIp(gateway(cidr.cidr))}/32`, "dev", "lo"]);
            });
        });
        ip("link", "add", "peer", "netns", this.router(0), "type", "veth", "peer", "name", "peer", "netns", this.router(1));
        this.endpoints.forEach((end, i) => {
            const other = 1 - i;
            inNs(this.router(i), ["ip", "addr", "add", `192.168.99.${i + 1}/30`, "dev", "peer"]);
            inNs(this.router(i), ["ip", "link", "set", "peer", "up"]);
            inNs(this.router(i), ["ip", "route", "add", this.endpoints[other].bridgeRange, "via", `192.168.99.${other + 1}`]);
            if (this.attachment === "bridge") {
                // The node's range goes to the node (the ENI route); the node's bridge is the gateway,
                // which the node agent sets up: its own script, as its DaemonSet runs it.
                inNs(this.router(i), ["ip", "route", "add", end.nodeRange, "via", this.underlay(i, 10)]);
                inNs(this.node(i), ["/bin/sh", path.join(ROOT, "components", "scripts", "node-agent.sh"), "prepare"], 20_000, {
                    PATH: process.env.PATH,
                    ...end.nodeAgentEnv,
                    NODE_NAME: end.node,
                    PLUMR_HOST_ROOT: "/",
                });
            } else {
                // macvlan pods sit on the node's segment itself; the router answers as their gateway.
                inNs(this.router(i), ["ip", "addr", "add", `${end.gateway}/${end.nodeRange.split("/")[1]}`, "dev", "n0"]);
            }
        });
    }

    /**
     * Runs the CNI plugin the config names, in the node's namespace, for the pod: CNI ADD, with
     * what Multus passes. Multus also passes the requested IPs in CNI_ARGS (IP=...), whatever the
     * capabilities, a path it calls deprecated since 3.5; `capabilityOnly` leaves that out, as a
     * runtime that follows only the CNI convention would.
     */
    attach(i: number, attachmentConfig: string, networks: string, pod = this.pod(i), capabilityOnly = false): string {
        const config = JSON.parse(attachmentConfig);
        const ips: string[] = JSON.parse(networks)[0].ips ?? [];
        const ipArg = !capabilityOnly && ips.length > 0 ? `;IP=${ips.join(",")}` : "";
        return execFileSync("ip", ["netns", "exec", this.node(i), path.join(CNI_DIR, config.type)], {
            input: multusConfig(attachmentConfig, networks),
            encoding: "utf8",
            timeout: 20_000,
            env: {
                PATH: process.env.PATH,
                CNI_COMMAND: "ADD",
                CNI_CONTAINERID: `${pod}-container`,
                CNI_NETNS: `/var/run/netns/${pod}`,
                CNI_IFNAME: "net1",
                CNI_PATH: CNI_DIR,
                CNI_ARGS: `IgnoreUnknown=true;K8S_POD_NAMESPACE=plumr;K8S_POD_NAME=${pod}${ipArg}`,
            },
        });
    }

    /** Adds an extra pod namespace on site i (for attachments other than the endpoint's); name: letters and digits. */
    extraPod(i: number, name: string): string {
        const ns = twinNamespace(this.prefix, i, `x-${name}`);
        this.addNs(ns);
        return ns;
    }

    /**
     * What the kubelet does for a pod before its containers start: sets the pod spec's sysctls inside the pod's
     * namespace, and writes the pod's /etc/hosts (localhost and the spec's hostAliases) where `ip netns exec` shows it
     * to the pod's processes, so that they find its peers by name as the workload would.
     */
    prepareSandbox(pod: string, spec: any): void {
        for (const { name, value } of spec.securityContext?.sysctls ?? []) inNs(pod, ["sysctl", "-qw", `${name}=${value}`]);
        const lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"];
        const aliases: { ip: string; hostnames: string[] }[] = spec.hostAliases ?? [];
        if (aliases.length > 0) lines.push("", "# Entries added by HostAliases.", ...aliases.map((a) => [a.ip, ...a.hostnames].join("\t")));
        fs.mkdirSync(namespaceEtc(pod), { recursive: true, mode: 0o755 });
        fs.writeFileSync(path.join(namespaceEtc(pod), "hosts"), lines.join("\n") + "\n", { mode: 0o644 });
    }

    /**
     * Runs a command in a pod's namespace as the endpoint's workload container runs it: as user and group 65534, with
     * no capabilities in any set and no way to gain one (allowPrivilegeEscalation: false). Its `ping` is a copy of
     * this machine's without the file capabilities this one may carry, as an image that relies on the pod's
     * ping_group_range ships it.
     */
    inWorkload(pod: string, command: string[], timeoutMs = 20_000): string {
        const id = String(WORKLOAD_UID);
        const setpriv = ["setpriv", `--reuid=${id}`, `--regid=${id}`, "--clear-groups"];
        setpriv.push("--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs");
        return inNs(pod, [...setpriv, ...command], timeoutMs, { ...process.env, PATH: `${this.workloadBin()}:${process.env.PATH}` });
    }

    /** The workload's own programs, readable by its user. */
    private workloadBin(): string {
        const bin = path.join(this.dir, "workload-bin");
        if (!fs.existsSync(bin)) {
            fs.chmodSync(this.dir, 0o711);
            fs.mkdirSync(bin, { mode: 0o755 });
            // A copy has no file capabilities: they are extended attributes, which copying leaves behind.
            fs.copyFileSync(execFileSync("sh", ["-c", "command -v ping"], { encoding: "utf8" }).trim(), path.join(bin, "ping"));
            fs.chmodSync(path.join(bin, "ping"), 0o755);
        }
        return bin;
    }

    /** The stand-ins as the site's node agent installs the binaries on its node, and what the entrypoint checks them against. */
    private installBinaries(i: number): { binDir: string; sums: string } {
        const binDir = path.join(this.dir, `site-${i}`, "bin");
        fs.mkdirSync(binDir, { recursive: true });
        const sums = ["plumr", "shm_printer"].map((binary) => {
            const content = fs.readFileSync(path.join(ROOT, "dev", "stand-ins", binary));
            // Once per node: a plumr running from it already must not see it rewritten.
            if (!fs.existsSync(path.join(binDir, binary))) fs.writeFileSync(path.join(binDir, binary), content, { mode: 0o755 });
            return `${createHash("sha256").update(content).digest("hex")}  ${binary}`;
        });
        return { binDir, sums: sums.join("\n") };
    }

    /**
     * Starts one of an endpoint's plumr containers as its pod spec says, with the stand-in as the plumr binary: by
     * default the site's endpoint's only one, in the site's endpoint pod. Started again after it was stopped, it runs
     * anew, as the kubelet restarts a container.
     */
    startPlumr(i: number, { pod = this.pod(i), endpoint = this.endpoints[i], container }: PlumrContainer = {}): Supervised {
        const spec = endpoint.podSpec;
        const names = Object.keys(endpoint.plumrConfigs);
        if (container === undefined && names.length !== 1)
            throw new Error(`the endpoint has ${names.length} plumr containers (${names.join(", ")}): name the one to start`);
        const name = container ?? names[0];
        const plumr = [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === name);
        const config = endpoint.plumrConfigs[name];
        if (!plumr || config === undefined) throw new Error(`the endpoint has no plumr container ${name}`);
        const { binDir, sums } = this.installBinaries(i);
        // The pod's configs, readable by root alone, as the Secret's volume mounts them.
        const dir = path.join(this.dir, pod);
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(dir, `${name}.json`), config);
        const entrypoint = path.join(ROOT, "components", "scripts", "plumr-entrypoint.sh");
        // The pod spec's own command, with the paths the volumes give it mapped to the twin's files.
        const command = plumr.command.map((arg: string) => (arg.endsWith("plumr-entrypoint.sh") ? entrypoint : arg));
        const env: Record<string, string> = {};
        for (const e of plumr.env) if (e.value !== undefined) env[e.name] = e.value;
        env.PLUMR_BIN_DIR = binDir;
        env.PLUMR_SHA256SUMS = sums;
        env.PLUMR_CONFIG = path.join(dir, `${name}.json`);
        env.NODE_NAME = this.node(i);
        // A native sidecar has its own restart rule; a plain container follows the pod's.
        const supervised = new Supervised(
            pod,
            command,
            env,
            plumr.restartPolicy ?? spec.restartPolicy ?? "Always",
            path.join(dir, `${name}.log`),
        );
        this.containers.push(supervised);
        if (pod === this.pod(i)) this.plumr[i] = supervised;
        return supervised;
    }

    /** Removes every namespace and process the twin made, its temp dir, and its lease on the prefix. */
    destroy(): void {
        this.unregister();
        for (const container of this.containers) container.stop();
        for (const ns of this.namespaces.splice(0).reverse()) removeNamespace(ns);
        fs.rmSync(this.dir, { recursive: true, force: true });
        fs.rmSync(leaseFile(this.prefix), { force: true });
    }
}
