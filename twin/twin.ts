// The data-plane twin: the two sites' routers, endpoint nodes and endpoint pods as network
// namespaces on this machine, attached with the real CNI plugins using the configs the program
// renders, and linked as the AWS prerequisites would link them. Root only; everything it makes it
// removes again in `destroy`, also after a failure.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatIp, gateway, parseCidr } from "../planner/addresses";

const ROOT = path.join(__dirname, "..");
export const CNI_DIR = path.join(process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain"), "cni");

/** One endpoint as the program rendered it. */
export interface RenderedEndpoint {
    site: string;
    /** The NetworkAttachmentDefinition's spec.config. */
    attachmentConfig: string;
    /** The pod's k8s.v1.cni.cncf.io/networks annotation. */
    networks: string;
    /** The rendered plumr config (the Secret's config.json). */
    plumrConfig: string;
    /** The endpoint pod's spec. */
    podSpec: any;
    /** The site's bridge range and the end's node range and gateway. */
    bridgeRange: string;
    nodeRange: string;
    gateway: string;
    /** Ranges of the site's other worker nodes. */
    otherNodeRanges: string[];
}

export function ip(...args: string[]): string {
    return execFileSync("ip", args, { encoding: "utf8", timeout: 10_000 });
}

/** Runs a command inside a namespace and returns its output. */
export function inNs(ns: string, command: string[], timeoutMs = 20_000): string {
    return execFileSync("ip", ["netns", "exec", ns, ...command], {
        encoding: "utf8",
        timeout: timeoutMs,
        stdio: ["ignore", "pipe", "pipe"],
    });
}

/** Whether this machine lets the twin run: root, network namespaces, the CNI plugins built. */
export function twinUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) return "the data-plane twin needs root (network namespaces)";
    if (!fs.existsSync(path.join(CNI_DIR, "bridge"))) return `the CNI plugins are not built in ${CNI_DIR} (scripts/toolchain.sh)`;
    for (const tool of ["socat", "iperf3", "ping"]) {
        try {
            execFileSync("sh", ["-c", `command -v ${tool}`]);
        } catch {
            return `${tool} is not installed (scripts/ensure-deps.sh installs it)`;
        }
    }
    try {
        ip("netns", "add", "plumr-probe");
        ip("netns", "del", "plumr-probe");
    } catch (err) {
        return `network namespaces are not available here: ${err}`;
    }
    return undefined;
}

/**
 * What Multus hands a CNI plugin: the attachment's config, named after the attachment when it
 * has no name, plus the pod's requested IPs only when the plugin declares the `ips` capability.
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
        if (this.child?.pid) process.kill(-this.child.pid, "SIGKILL");
    }

    stop(): void {
        this.stopped = true;
        this.kill();
    }
}

export type Attachment = "bridge" | "macvlan";

/** The twin of two sites, each with a router, one endpoint node and one endpoint pod. */
export class Twin {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-twin-"));
    private readonly namespaces: string[] = [];
    /** The supervised plumr container of each endpoint, by endpoint index. */
    readonly plumr: Supervised[] = [];

    constructor(
        readonly prefix: string,
        readonly endpoints: RenderedEndpoint[],
        readonly attachment: Attachment,
    ) {}

    router = (i: number) => `${this.prefix}-${i}-r`;
    node = (i: number) => `${this.prefix}-${i}-n`;
    /** The site's k-th other worker node (no endpoint on it). */
    worker = (i: number, k: number) => `${this.prefix}-${i}-w${k}`;
    pod = (i: number) => `${this.prefix}-${i}-p`;
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
                // The node's range goes to the node (the ENI route); the node's bridge is the gateway.
                inNs(this.router(i), ["ip", "route", "add", end.nodeRange, "via", this.underlay(i, 10)]);
            } else {
                // macvlan pods sit on the node's segment itself; the router answers as their gateway.
                inNs(this.router(i), ["ip", "addr", "add", `${end.gateway}/${end.nodeRange.split("/")[1]}`, "dev", "n0"]);
            }
        });
    }

    /** Runs the CNI plugin the config names, in the node's namespace, for the pod: CNI ADD. */
    attach(i: number, attachmentConfig: string, networks: string, pod = this.pod(i)): string {
        const config = JSON.parse(attachmentConfig);
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
                CNI_ARGS: `IgnoreUnknown=true;K8S_POD_NAMESPACE=plumr;K8S_POD_NAME=${pod}`,
            },
        });
    }

    /** Adds an extra pod namespace (for attachments other than the endpoint's). */
    extraPod(name: string): string {
        const ns = `${this.prefix}-${name}`;
        this.addNs(ns);
        return ns;
    }

    /** Starts the endpoint's plumr container as its pod spec says, with the stand-in as the plumr binary. */
    startPlumr(i: number): Supervised {
        const end = this.endpoints[i];
        const spec = end.podSpec;
        const plumr = [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === "plumr");
        const dir = path.join(this.dir, `site-${i}`);
        const binDir = path.join(dir, "bin");
        fs.mkdirSync(binDir, { recursive: true });
        fs.copyFileSync(path.join(__dirname, "plumr-stand-in.sh"), path.join(binDir, "plumr"));
        fs.chmodSync(path.join(binDir, "plumr"), 0o755);
        fs.writeFileSync(path.join(dir, "config.json"), end.plumrConfig);
        const entrypoint = path.join(ROOT, "components", "scripts", "plumr-entrypoint.sh");
        // The pod spec's own command, with the paths the volumes give it mapped to the twin's files.
        const command = plumr.command.map((arg: string) => (arg.endsWith("plumr-entrypoint.sh") ? entrypoint : arg));
        const env: Record<string, string> = {};
        for (const e of plumr.env) if (e.value !== undefined) env[e.name] = e.value;
        env.PLUMR_BIN_DIR = binDir;
        env.PLUMR_CONFIG = path.join(dir, "config.json");
        env.NODE_NAME = this.node(i);
        // A native sidecar has its own restart rule; a plain container follows the pod's.
        this.plumr[i] = new Supervised(
            this.pod(i),
            command,
            env,
            plumr.restartPolicy ?? spec.restartPolicy ?? "Always",
            path.join(dir, "plumr.log"),
        );
        return this.plumr[i];
    }

    /** Removes every namespace and process the twin made. */
    destroy(): void {
        for (const p of this.plumr) p?.stop();
        for (const ns of [...this.namespaces].reverse()) {
            try {
                ip("netns", "pids", ns)
                    .split("\n")
                    .filter(Boolean)
                    .forEach((pid) => process.kill(Number(pid), "SIGKILL"));
                ip("netns", "del", ns);
            } catch {
                // already gone
            }
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
