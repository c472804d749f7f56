// The node agent's script, run for real: against temporary directories standing for the node's
// files, and, as root, inside a network namespace of its own standing for the node's network, with
// the rules OpenShift's OVN-Kubernetes (ipForwarding Restricted) and EKS's VPC CNI put there.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chunkFileName, installerManifest, packageBinary } from "../../planner/files/binaries";
import { standInBinary } from "../support/harness";
import { isRoot } from "../support/pid1";

const AGENT = path.join(__dirname, "..", "..", "components", "scripts", "node-agent.sh");

interface Node {
    root: string;
    env: Record<string, string>;
}

/** A node's files under a temporary directory, the agent's manifest and chunks, and its environment. */
function fakeNode(options: { shipCni?: boolean; env?: Record<string, string> } = {}): Node {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-agent-"));
    const dirs = { chunks: path.join(root, "chunks"), manifest: path.join(root, "manifest"), bin: path.join(root, "node", "bin") };
    const cni = path.join(root, "node", "cni");
    [dirs.chunks, dirs.manifest, cni].forEach((d) => fs.mkdirSync(d, { recursive: true }));
    const packages = [
        packageBinary("plumr", standInBinary("plumr", 5000), 2000),
        packageBinary("shm_printer", standInBinary("shm_printer", 3000)),
    ];
    const cniPackages = options.shipCni
        ? [
              packageBinary("bridge", Buffer.from("#!/bin/sh\necho shipped bridge\n")),
              packageBinary("static", Buffer.from("#!/bin/sh\necho shipped static\n")),
          ]
        : [];
    for (const pkg of [...packages, ...cniPackages])
        pkg.chunks.forEach((chunk, i) => fs.writeFileSync(path.join(dirs.chunks, chunkFileName(pkg.name, i)), chunk));
    for (const [file, text] of Object.entries(installerManifest(packages, cniPackages)))
        fs.writeFileSync(path.join(dirs.manifest, file), text);
    fs.copyFileSync(path.join(path.dirname(AGENT), "install-binaries.sh"), path.join(dirs.manifest, "install-binaries.sh"));
    fs.copyFileSync(AGENT, path.join(dirs.manifest, "node-agent.sh"));
    return {
        root,
        env: {
            PATH: process.env.PATH!,
            NODE_NAME: "worker-1",
            PLUMR_SITE: "ohio",
            PLUMR_HOST_ROOT: "/",
            MANIFEST_DIR: dirs.manifest,
            CHUNKS_DIR: dirs.chunks,
            PLUMR_HOST_PATH: dirs.bin,
            PLUMR_CNI_BIN_DIR: cni,
            PLUMR_CNI_PLUGINS: "bridge static",
            ...options.env,
        },
    };
}

function agent(node: Node, mode: string, env: Record<string, string> = {}, netns?: string) {
    const argv = ["/bin/sh", path.join(node.env.MANIFEST_DIR, "node-agent.sh"), mode];
    const [command, ...args] = netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
    const result = spawnSync(command, args, { env: { ...node.env, ...env }, encoding: "utf8", timeout: 30_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("node-agent.sh: the node's files", () => {
    const nodes: Node[] = [];
    const node = (options?: Parameters<typeof fakeNode>[0]) => {
        const made = fakeNode(options);
        nodes.push(made);
        return made;
    };
    afterEach(() => nodes.splice(0).forEach((n) => fs.rmSync(n.root, { recursive: true, force: true })));

    it("installs the binaries and passes its check; a changed binary fails the check, naming the node", () => {
        const n = node();
        fs.writeFileSync(path.join(n.env.PLUMR_CNI_BIN_DIR, "bridge"), "node's own", { mode: 0o755 });
        fs.writeFileSync(path.join(n.env.PLUMR_CNI_BIN_DIR, "static"), "node's own", { mode: 0o755 });
        const install = agent(n, "install");
        assert.strictEqual(install.status, 0, install.output);
        assert.deepStrictEqual(fs.readdirSync(n.env.PLUMR_HOST_PATH).sort(), ["plumr", "shm_printer"]);
        const ok = agent(n, "check");
        assert.strictEqual(ok.status, 0, ok.output);
        fs.appendFileSync(path.join(n.env.PLUMR_HOST_PATH, "plumr"), "x");
        const changed = agent(n, "check");
        assert.strictEqual(changed.status, 1);
        assert.match(
            changed.output,
            /^node-agent: node worker-1: binaries: .* does not hold the plumr and shm_printer this agent shipped/m,
        );
    });

    it("exits on a failed check with the failures, first line first, as its termination message", () => {
        const n = node();
        const log = path.join(n.root, "termination-log");
        const run = spawnSync("/bin/sh", [path.join(n.env.MANIFEST_DIR, "node-agent.sh"), "run"], {
            env: { ...n.env, PLUMR_TERMINATION_LOG: log },
            encoding: "utf8",
            timeout: 30_000,
        });
        assert.strictEqual(run.status, 1, `${run.stdout}${run.stderr}`);
        const lines = fs.readFileSync(log, "utf8").split("\n");
        assert.match(lines[0], /^node-agent: node worker-1: CNI plugins: \S+ has no bridge plugin/);
        assert.match(lines[1], /^node-agent: node worker-1: CNI plugins: \S+ has no static plugin/);
    });

    it("says which command its image lacks before it does anything", () => {
        const n = node();
        const tools = path.join(n.root, "tools");
        fs.mkdirSync(tools);
        for (const c of ["sh", "chroot", "sha256sum", "sleep", "mktemp", "cut", "tr", "sed", "grep", "dirname", "cat"])
            fs.symlinkSync(execFileSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).trim(), path.join(tools, c));
        const run = spawnSync("/bin/sh", [path.join(n.env.MANIFEST_DIR, "node-agent.sh"), "run"], {
            env: { ...n.env, PATH: tools },
            encoding: "utf8",
            timeout: 30_000,
        });
        assert.strictEqual(run.status, 1);
        assert.match(run.stderr, /^node-agent: node worker-1: image: the node agent's image has no gunzip; set binaries\.installerImage/m);
        assert.deepStrictEqual(fs.existsSync(n.env.PLUMR_HOST_PATH) ? fs.readdirSync(n.env.PLUMR_HOST_PATH) : [], [], "nothing installed");
    });

    it("installs the CNI plugins the node lacks, and never replaces the node's own", () => {
        const n = node({ shipCni: true });
        fs.writeFileSync(path.join(n.env.PLUMR_CNI_BIN_DIR, "static"), "node's own", { mode: 0o755 });
        const install = agent(n, "install");
        assert.strictEqual(install.status, 0, install.output);
        assert.match(install.output, /installing the CNI plugins it lacks into .*: bridge $/m);
        assert.strictEqual(fs.readFileSync(path.join(n.env.PLUMR_CNI_BIN_DIR, "bridge"), "utf8"), "#!/bin/sh\necho shipped bridge\n");
        assert.strictEqual(fs.statSync(path.join(n.env.PLUMR_CNI_BIN_DIR, "bridge")).mode & 0o777, 0o755);
        assert.strictEqual(fs.readFileSync(path.join(n.env.PLUMR_CNI_BIN_DIR, "static"), "utf8"), "node's own");
        assert.strictEqual(agent(n, "check").status, 0);
    });

    it("fails its check on a node without the plugins when none are shipped, saying where it looked and what to do", () => {
        const n = node();
        assert.strictEqual(agent(n, "install").status, 0);
        const { status, output } = agent(n, "check");
        assert.strictEqual(status, 1);
        for (const plugin of ["bridge", "static"]) {
            assert.match(
                output,
                new RegExp(
                    `^node-agent: node worker-1: CNI plugins: \\S+/node/cni has no ${plugin} plugin, which the attachment needs .*binaries\\.cniPlugins.*sites\\.ohio\\.cniBinDir`,
                    "m",
                ),
            );
        }
    });

    it("relabels the binaries for containers where SELinux is enabled, and only there", () => {
        const n = node();
        const tools = path.join(n.root, "tools");
        fs.mkdirSync(tools);
        const calls = path.join(n.root, "calls");
        fs.writeFileSync(path.join(tools, "chcon"), `#!/bin/sh\necho "chcon $*" >> ${calls}\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(tools, "stat"), "#!/bin/sh\necho system_u:object_r:container_file_t:s0\n", { mode: 0o755 });
        const withTools = { PATH: `${tools}:${process.env.PATH}` };
        assert.strictEqual(agent(n, "install", withTools).status, 0);
        assert.ok(!fs.existsSync(calls), "no SELinux, no relabelling");

        fs.writeFileSync(path.join(tools, "selinuxenabled"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const { status, output } = agent(n, "install", withTools);
        assert.strictEqual(status, 0, output);
        assert.strictEqual(fs.readFileSync(calls, "utf8"), `chcon -R -t container_file_t -l s0 ${n.env.PLUMR_HOST_PATH}\n`);

        fs.writeFileSync(path.join(tools, "stat"), "#!/bin/sh\necho system_u:object_r:var_lib_t:s0\n", { mode: 0o755 });
        const unlabelled = agent(n, "check", { ...withTools, PLUMR_CNI_PLUGINS: "" });
        assert.strictEqual(unlabelled.status, 1);
        assert.match(unlabelled.output, /SELinux: \S+\/plumr is labelled system_u:object_r:var_lib_t:s0, which containers cannot read/);
    });
});

describe("node-agent.sh: the node's network, in namespaces of its own (root)", function () {
    this.timeout(60_000);
    // The node; behind its uplink, a linked site (10.20.0.0/16) and another network it routes
    // (10.99.0.0/16); on its bridge, an endpoint pod. Veth pairs join them, and no route leaves them.
    const NETNS = "plumr-agent-test";
    const PEER = "plumr-agent-test-peer";
    const POD = "plumr-agent-test-pod";
    const BRIDGE = "br-plumr";
    const [PEER_HOST, OTHER_HOST, POD_ADDRESS] = ["10.20.0.5", "10.99.0.5", "10.10.1.5"];
    let n: Node;
    const inNetns = (netns: string, ...argv: string[]) =>
        execFileSync("ip", ["netns", "exec", netns, ...argv], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const inNs = (...argv: string[]) => inNetns(NETNS, ...argv);
    const rules = (table: string, chain: string) => inNs("iptables", "-t", table, "-S", chain).trim().split("\n");
    const removeNamespaces = () => [POD, PEER, NETNS].forEach((ns) => spawnSync("ip", ["netns", "del", ns]));
    const hasNft = spawnSync("sh", ["-c", "command -v nft"]).status === 0;

    before(function () {
        if (!isRoot()) {
            console.log("    skipped: network namespaces need root");
            this.skip();
        }
        removeNamespaces();
    });
    beforeEach(() => {
        for (const ns of [NETNS, PEER]) {
            execFileSync("ip", ["netns", "add", ns]);
            inNetns(ns, "ip", "link", "set", "lo", "up");
        }
        // The node's uplink, as br-ex is on OpenShift, forwarding as OVN-Kubernetes sets it (a new
        // namespace may take 0 from the machine's own settings).
        execFileSync("ip", ["link", "add", "uplink", "netns", NETNS, "type", "veth", "peer", "name", "eth0", "netns", PEER]);
        inNs("ip", "addr", "add", "192.0.2.1/24", "dev", "uplink");
        inNs("ip", "link", "set", "uplink", "up");
        inNs("sysctl", "-qw", "net.ipv4.conf.uplink.forwarding=1");
        for (const range of ["10.20.0.0/16", "10.99.0.0/16"]) inNs("ip", "route", "add", range, "via", "192.0.2.2");
        inNetns(PEER, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0");
        inNetns(PEER, "ip", "link", "set", "eth0", "up");
        for (const host of [PEER_HOST, OTHER_HOST]) inNetns(PEER, "ip", "addr", "add", `${host}/32`, "dev", "lo");
        inNetns(PEER, "ip", "route", "add", "10.10.0.0/16", "via", "192.0.2.1");
        n = fakeNode({
            env: {
                PLUMR_CNI_PLUGINS: "",
                PLUMR_BRIDGE: BRIDGE,
                PLUMR_NODE_NETWORK: "agent",
                PLUMR_NODES: "worker-0,10.10.0.1/24,10.10.0.0/24 worker-1,10.10.1.1/24,10.10.1.0/24",
                PLUMR_BRIDGE_RANGE: "10.10.0.0/16",
                PLUMR_PEER_RANGES: "10.20.0.0/16",
            },
        });
        assert.strictEqual(agent(n, "install").status, 0);
    });
    afterEach(() => {
        removeNamespaces();
        if (n) fs.rmSync(n.root, { recursive: true, force: true });
    });

    /** What OVN-Kubernetes does with ipForwarding Restricted, and the VPC CNI's SNAT, on a node. */
    function restrictedAndSnatted() {
        inNs("sysctl", "-qw", "net.ipv4.ip_forward=0");
        inNs("sysctl", "-qw", "net.ipv4.conf.uplink.forwarding=1");
        inNs("iptables", "-A", "FORWARD", "-i", "uplink", "-j", "DROP");
        inNs("iptables", "-A", "FORWARD", "-o", "uplink", "-j", "DROP");
        inNs("iptables", "-t", "nat", "-N", "AWS-SNAT-CHAIN-0");
        inNs("iptables", "-t", "nat", "-A", "POSTROUTING", "-m", "comment", "--comment", "AWS SNAT CHAIN", "-j", "AWS-SNAT-CHAIN-0");
        inNs("iptables", "-t", "nat", "-A", "AWS-SNAT-CHAIN-0", "!", "-o", "vlan+", "-j", "SNAT", "--to-source", "100.65.0.10");
    }

    /** An endpoint pod on the node's bridge (which the agent makes), routed through its gateway. */
    function podOnBridge() {
        execFileSync("ip", ["netns", "add", POD]);
        execFileSync("ip", ["link", "add", "veth-pod", "netns", NETNS, "type", "veth", "peer", "name", "net1", "netns", POD]);
        inNs("ip", "link", "set", "veth-pod", "master", BRIDGE, "up");
        inNetns(POD, "ip", "link", "set", "lo", "up");
        inNetns(POD, "ip", "addr", "add", `${POD_ADDRESS}/24`, "dev", "net1");
        inNetns(POD, "ip", "link", "set", "net1", "up");
        inNetns(POD, "ip", "route", "add", "default", "via", "10.10.1.1");
    }

    /** Whether the pod's ping gets an answer from `host` (two tries, a second each at most). */
    const reaches = (host: string) =>
        spawnSync("ip", ["netns", "exec", POD, "ping", "-c", "2", "-i", "0.2", "-W", "1", "-q", host], { timeout: 10_000 }).status === 0;

    const check = (env: Record<string, string> = {}) => agent(n, "check", env, NETNS);
    const prepare = (env: Record<string, string> = {}) => {
        const result = agent(n, "prepare", env, NETNS);
        assert.strictEqual(result.status, 0, result.output);
        return result.output;
    };

    it("gives the bridge the node's gateway, forwards the bridge's traffic alone, ahead of the node's rules, and keeps it out of SNAT", () => {
        restrictedAndSnatted();
        prepare();
        assert.match(inNs("ip", "-4", "addr", "show", "dev", BRIDGE), /inet 10\.10\.1\.1\/24 /);
        assert.strictEqual(inNs("cat", `/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`).trim(), "1");
        assert.strictEqual(inNs("sysctl", "-n", "net.ipv4.ip_forward").trim(), "0", "the node's own choice stays");
        assert.deepStrictEqual(rules("filter", "FORWARD").slice(0, 2), ["-P FORWARD ACCEPT", "-A FORWARD -j PLUMR-FORWARD"]);
        assert.deepStrictEqual(rules("nat", "POSTROUTING").slice(0, 2), ["-P POSTROUTING ACCEPT", "-A POSTROUTING -j PLUMR-POSTROUTING"]);
        assert.deepStrictEqual(rules("nat", "PLUMR-POSTROUTING").slice(1), ["-A PLUMR-POSTROUTING -s 10.10.1.0/24 -j ACCEPT"]);
        const passes = check();
        assert.strictEqual(passes.status, 0, passes.output);
        podOnBridge();
        assert.ok(reaches(PEER_HOST), "the pod reaches the linked site, with its own address");
        assert.strictEqual(prepare(), "", "a round with nothing to do says nothing");
        assert.strictEqual(rules("filter", "PLUMR-FORWARD").length, 5, "the same rules once, however often it runs");
    });

    it("forwards only between the node's range and the site's or a linked site's, and refills its chain only when those change", () => {
        restrictedAndSnatted();
        prepare();
        assert.deepStrictEqual(rules("filter", "PLUMR-FORWARD").slice(1), [
            `-A PLUMR-FORWARD -s 10.10.1.0/24 -d 10.10.0.0/16 -i ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.10.0.0/16 -d 10.10.1.0/24 -o ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.10.1.0/24 -d 10.20.0.0/16 -i ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.20.0.0/16 -d 10.10.1.0/24 -o ${BRIDGE} -j ACCEPT`,
        ]);
        podOnBridge();
        assert.ok(reaches(PEER_HOST), "a linked site");
        assert.strictEqual(reaches(OTHER_HOST), false, "a network the node routes, but no linked site's: the node's rules drop it");
        // The rules' packet counters show whether the chain was emptied and filled again.
        const counted = () => inNs("iptables", "-v", "-S", "PLUMR-FORWARD").match(/-c \d+/g);
        const before = counted();
        assert.notStrictEqual(before![2], "-c 0", "the pod's pings went through the rule to the linked site");
        runBriefly();
        assert.deepStrictEqual(counted(), before, "a restart with the same ranges leaves the chain as it is");
        runBriefly({ PLUMR_PEER_RANGES: "10.20.0.0/16 10.99.0.0/16" });
        assert.deepStrictEqual(rules("filter", "PLUMR-FORWARD").slice(5), [
            `-A PLUMR-FORWARD -s 10.10.1.0/24 -d 10.99.0.0/16 -i ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.99.0.0/16 -d 10.10.1.0/24 -o ${BRIDGE} -j ACCEPT`,
        ]);
        assert.ok(
            counted()!.every((c) => c === "-c 0"),
            "a new set of ranges fills the chain afresh",
        );
        assert.ok(reaches(OTHER_HOST), "a site linked since");
    });

    it("checks that the interface a linked site's range is routed through forwards: on a hardened node, it fails, naming the sysctl", () => {
        prepare();
        podOnBridge();
        // Forwarding off for the whole node, as a hardened node has it; the agent's next round
        // switches it on for the bridge again, and for the bridge alone.
        inNs("sysctl", "-qw", "net.ipv4.conf.all.forwarding=1");
        inNs("sysctl", "-qw", "net.ipv4.conf.all.forwarding=0");
        prepare();
        assert.strictEqual(inNs("cat", "/proc/sys/net/ipv4/conf/uplink/forwarding").trim(), "0", "the agent leaves the uplink alone");
        assert.strictEqual(reaches(PEER_HOST), false, "the answer arrives on the uplink, which does not forward it");
        const hardened = check();
        assert.strictEqual(hardened.status, 1);
        assert.match(
            hardened.output,
            /^node-agent: node worker-1: forwarding: the node routes 10\.20\.0\.0\/16, a linked site's bridge range, through uplink, which does not forward \(net\.ipv4\.conf\.uplink\.forwarding is 0\).*; set net\.ipv4\.conf\.uplink\.forwarding=1 on the node/m,
        );
        assert.doesNotMatch(hardened.output, /10\.99\./, "only the linked sites' ranges are checked");

        // The fix the check names: the uplink forwards, the node as a whole still does not.
        inNs("sysctl", "-qw", "net.ipv4.conf.uplink.forwarding=1");
        assert.strictEqual(inNs("sysctl", "-n", "net.ipv4.ip_forward").trim(), "0");
        assert.ok(reaches(PEER_HOST));
        assert.strictEqual(check().status, 0);

        inNs("ip", "route", "del", "10.20.0.0/16");
        assert.match(check().output, /forwarding: the node has no route to 10\.20\.0\.0\/16, a linked site's bridge range/);
    });

    it("keeps its jumps ahead of what drops or source-NATs, leaves them where they are when they are, and says what they are behind", () => {
        restrictedAndSnatted();
        prepare();
        // Another agent that keeps its own jumps first, as Calico does by default: no fight.
        for (const [table, parent, chain] of [
            ["filter", "FORWARD", "cali-FORWARD"],
            ["nat", "POSTROUTING", "cali-POSTROUTING"],
        ]) {
            inNs("iptables", "-t", table, "-N", chain);
            inNs("iptables", "-t", table, "-I", parent, "1", "-j", chain);
        }
        assert.strictEqual(prepare(), "", "nothing moved");
        assert.deepStrictEqual(rules("filter", "FORWARD").slice(1, 3), ["-A FORWARD -j cali-FORWARD", "-A FORWARD -j PLUMR-FORWARD"]);
        assert.deepStrictEqual(rules("nat", "POSTROUTING").slice(1, 3), [
            "-A POSTROUTING -j cali-POSTROUTING",
            "-A POSTROUTING -j PLUMR-POSTROUTING",
        ]);
        assert.strictEqual(check().status, 0, "ahead of what matters is enough");

        // A rule that drops, and one that source-NATs, put ahead: the check names them.
        inNs("iptables", "-I", "FORWARD", "1", "-o", "uplink", "-j", "REJECT", "--reject-with", "icmp-port-unreachable");
        inNs("iptables", "-t", "nat", "-I", "POSTROUTING", "2", "-m", "comment", "--comment", "AWS SNAT CHAIN", "-j", "AWS-SNAT-CHAIN-0");
        const behind = check();
        assert.strictEqual(behind.status, 1);
        assert.match(
            behind.output,
            /^node-agent: node worker-1: forwarding: the FORWARD chain reaches -A FORWARD -o uplink -j REJECT --reject-with icmp-port-unreachable before its jump to PLUMR-FORWARD, so the bridge's traffic is dropped there/m,
        );
        assert.match(
            behind.output,
            /^node-agent: node worker-1: source NAT: the POSTROUTING chain reaches -A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0 before its jump to PLUMR-POSTROUTING/m,
        );
        prepare();
        assert.strictEqual(rules("filter", "FORWARD")[1], "-A FORWARD -j PLUMR-FORWARD");
        assert.strictEqual(rules("nat", "POSTROUTING")[1], "-A POSTROUTING -j PLUMR-POSTROUTING");
        for (const [table, parent] of [
            ["filter", "FORWARD"],
            ["nat", "POSTROUTING"],
        ])
            assert.strictEqual(rules(table, parent).filter((r) => r.includes("PLUMR")).length, 1, "one jump, not two");
        assert.strictEqual(check().status, 0);

        inNs("iptables", "-D", "FORWARD", "-j", "PLUMR-FORWARD");
        assert.match(check().output, /forwarding: the FORWARD chain does not send the bridge's traffic to PLUMR-FORWARD/);
    });

    it("forgets the range's flows when it adds the NAT exemption, and only those source-NATed meanwhile when it moves its jump", () => {
        restrictedAndSnatted();
        const flows = () =>
            inNs("conntrack", "-L", "-p", "udp")
                .split("\n")
                .flatMap((line) => /^udp .* src=(10\.10\.1\.\d+) /.exec(line)?.[1] ?? [])
                .sort();
        // A flow left as it is, and one source-NATed as the VPC CNI does.
        const addFlows = () => {
            const flow = ["-p", "udp", "-d", PEER_HOST, "--sport", "5000", "--dport", "5000", "-t", "120"];
            inNs("conntrack", "-I", "-s", "10.10.1.5", ...flow);
            inNs("conntrack", "-I", "-s", "10.10.1.6", ...flow, "--src-nat", "100.65.0.10");
            assert.deepStrictEqual(flows(), ["10.10.1.5", "10.10.1.6"]);
        };
        addFlows();
        assert.match(prepare(), /kept the source of what leaves 10\.10\.1\.0\/24; forgot its earlier flows/);
        assert.deepStrictEqual(flows(), [], "the exemption was added: every flow of the range starts again");

        addFlows();
        assert.strictEqual(prepare(), "");
        assert.deepStrictEqual(flows(), ["10.10.1.5", "10.10.1.6"], "nothing changed, nothing forgotten");

        inNs("iptables", "-t", "nat", "-I", "POSTROUTING", "1", "-j", "AWS-SNAT-CHAIN-0");
        assert.match(
            prepare(),
            /put PLUMR-POSTROUTING ahead of POSTROUTING's source NAT again; forgot the flows of 10\.10\.1\.0\/24 it source-NATed meanwhile/,
        );
        assert.deepStrictEqual(flows(), ["10.10.1.5"], "the jump was only moved: the flow left as it is goes on");
    });

    it("reports an nftables chain on the forward hook whose drop policy drops the bridge's traffic, until it accepts that traffic", function () {
        if (!hasNft) {
            console.log("      skipped: no nft command (Debian's nftables package; dev/setup/ensure-system-packages.sh installs it)");
            this.skip();
        }
        prepare();
        podOnBridge();
        assert.ok(reaches(PEER_HOST));
        // A node's own firewall, in a table of its own; and FORWARD's policy, where the agent's jump is, dropping too.
        const nft = (...argv: string[]) => inNs("nft", ...argv);
        nft("add", "table", "inet", "hostfw");
        nft("add", "chain", "inet", "hostfw", "forward", "{ type filter hook forward priority 0; policy drop; }");
        nft("add", "chain", "inet", "hostfw", "input", "{ type filter hook input priority 0; policy drop; }");
        inNs("iptables", "-P", "FORWARD", "DROP");
        assert.strictEqual(reaches(PEER_HOST), false, "accepted by the agent's iptables rules, dropped by the other chain");
        const dropped = check();
        assert.strictEqual(dropped.status, 1);
        const lines = dropped.output.trim().split("\n");
        assert.strictEqual(lines.length, 1, dropped.output);
        assert.match(
            lines[0],
            /^node-agent: node worker-1: nftables: chain forward of table inet hostfw \(hook forward, policy drop\) drops the bridge's traffic whatever the agent's iptables rules accept; .*nft insert rule inet hostfw forward iifname "br-plumr" ip saddr 10\.10\.1\.0\/24 accept, and nft insert rule inet hostfw forward oifname "br-plumr" ip daddr 10\.10\.1\.0\/24 accept$/,
        );

        // The fix the check names.
        nft("insert", "rule", "inet", "hostfw", "forward", "iifname", `"${BRIDGE}"`, "ip", "saddr", "10.10.1.0/24", "accept");
        nft("insert", "rule", "inet", "hostfw", "forward", "oifname", `"${BRIDGE}"`, "ip", "daddr", "10.10.1.0/24", "accept");
        assert.ok(reaches(PEER_HOST));
        const accepted = check();
        assert.strictEqual(accepted.status, 0, accepted.output);
    });

    /** `node-agent.sh run` for a few seconds: its output. */
    const runBriefly = (env: Record<string, string> = {}) => {
        const script = path.join(n.env.MANIFEST_DIR, "node-agent.sh");
        const run = spawnSync("ip", ["netns", "exec", NETNS, "timeout", "5", "/bin/sh", script, "run"], {
            env: { ...n.env, PLUMR_CHECK_SECONDS: "60", ...env },
            encoding: "utf8",
        });
        assert.strictEqual(run.status, 124, `runs until stopped: ${run.stdout}${run.stderr}`);
        return `${run.stdout}${run.stderr}`;
    };

    it("keeps its rules across restarts, replaces them when the node's range changes, and forgets the range's flows only then", () => {
        restrictedAndSnatted();
        assert.match(runBriefly(), /kept the source of what leaves 10\.10\.1\.0\/24; forgot its earlier flows/);
        assert.doesNotMatch(runBriefly(), /forgot its earlier flows/, "a restart with the same settings changes nothing");
        const moved = { PLUMR_NODES: "worker-1,10.10.7.1/24,10.10.7.0/24" };
        assert.match(runBriefly(moved), /kept the source of what leaves 10\.10\.7\.0\/24/);
        assert.deepStrictEqual(rules("filter", "PLUMR-FORWARD").slice(1), [
            `-A PLUMR-FORWARD -s 10.10.7.0/24 -d 10.10.0.0/16 -i ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.10.0.0/16 -d 10.10.7.0/24 -o ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.10.7.0/24 -d 10.20.0.0/16 -i ${BRIDGE} -j ACCEPT`,
            `-A PLUMR-FORWARD -s 10.20.0.0/16 -d 10.10.7.0/24 -o ${BRIDGE} -j ACCEPT`,
        ]);
        assert.deepStrictEqual(rules("nat", "PLUMR-POSTROUTING").slice(1), ["-A PLUMR-POSTROUTING -s 10.10.7.0/24 -j ACCEPT"]);
        assert.deepStrictEqual(
            inNs("ip", "-4", "-o", "addr", "show", "dev", BRIDGE).match(/inet \S+/g),
            ["inet 10.10.7.1/24"],
            "the bridge has the new gateway only",
        );
    });

    it("with nodeNetwork cluster, keeps the bridge, leaves forwarding and NAT to the cluster, and withdraws its own rules", () => {
        restrictedAndSnatted();
        prepare();
        const env = { PLUMR_NODE_NETWORK: "cluster" };
        runBriefly(env);
        inNs("sysctl", "-qw", `net.ipv4.conf.${BRIDGE}.forwarding=0`);
        prepare(env);
        assert.match(inNs("ip", "-4", "addr", "show", "dev", BRIDGE), /inet 10\.10\.1\.1\/24 /);
        assert.strictEqual(inNs("cat", `/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`).trim(), "0");
        assert.ok(!inNs("iptables-save").includes("PLUMR"), "no rule or chain of the agent is left");
        assert.deepStrictEqual(rules("filter", "FORWARD").slice(1), ["-A FORWARD -i uplink -j DROP", "-A FORWARD -o uplink -j DROP"]);
        assert.strictEqual(check(env).status, 0);
    });

    it("fails its check when the bridge lacks the gateway or the node is not the site's", () => {
        prepare();
        inNs("ip", "addr", "flush", "dev", BRIDGE);
        const flushed = check();
        assert.strictEqual(flushed.status, 1);
        assert.match(
            flushed.output,
            /node-agent: node worker-1: bridge: br-plumr does not have the node's gateway address 10\.10\.1\.1\/24/,
        );
        const stranger = check({ NODE_NAME: "worker-9" });
        assert.match(stranger.output, /node-agent: node worker-9: bridge: the node is not in sites\.ohio\.nodes/);
    });
});
