// What a real node of the local clusters is, and the configuration files its kubelet, containerd
// and Multus read: pure functions of the node, so that what a node runs with is written in one place.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

/** Where the nodes' veths to this machine take their /30s from: 198.18.0.0/15, reserved for lab networks. */
const LAB_NETWORK = "198.18.0.0/15";

const ROOT = path.join(__dirname, "..", "..");
const TOOLCHAIN = process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain");
export const BIN = path.join(TOOLCHAIN, "bin");
/** The CNI plugins the toolchain builds, by type. */
export const CNI_PLUGINS = path.join(TOOLCHAIN, "cni");
/**
 * Where a node's containerd and Multus find the CNI plugins, inside the node (its own /var/lib):
 * /var/lib/cni/bin, as on OpenShift, so that a site's node agent finds them where it looks.
 */
export const NODE_CNI_BIN_DIR = "/var/lib/cni/bin";
const IMAGES = path.join(ROOT, ".cache", "images", "images.json");
/** Where a node reaches its API server, inside its own network namespace. */
export const NODE_API_PORT = 6443;

/** One real node of a local cluster. */
export interface RealNode {
    /** The local deployment this node belongs to (demo, e2e, bench). */
    instance: string;
    /** The cluster (site) it joins. */
    cluster: string;
    /** Its name, which is also its `kubernetes.io/hostname`. */
    name: string;
    /** Its availability zone and EC2 instance, as an EC2 node's labels and spec.providerID say. */
    zone: string;
    instanceId: string;
    /** Short name: site and number of the node in the site, e.g. ohio-n0. */
    key: string;
    /** Its number in the site: the nodes join in turn, and a node keeps its number after it is gone. */
    index: number;
    /** Its network namespace. */
    netns: string;
    /** Its state directory on this machine. */
    dir: string;
    /** Its cgroup, the same path in every hierarchy; the kubelet's cgroupRoot. */
    cgroup: string;
    /** Its InternalIP, the node's end of the veth to this machine. */
    address: string;
    /** This machine's end of that veth, and the veth's name here. */
    hostAddress: string;
    hostVeth: string;
    /** Its address on the site's underlay (the VPC stand-in), and the site router's. */
    underlay: { address: string; router: string; prefixLength: number };
    /** The range its default pod network (eth0 of every pod) assigns from. */
    podSubnet: string;
}

/** The images every real node holds, built from Debian packages by dev/setup/images.sh. */
export interface LocalImages {
    pause: { name: string; archive: string };
    installer: { name: string; archive: string };
    tools: { name: string; archive: string };
}

export function localImages(): LocalImages {
    if (!fs.existsSync(IMAGES)) throw new Error(`${IMAGES} is missing: run bash dev/setup/images.sh first`);
    return JSON.parse(fs.readFileSync(IMAGES, "utf8"));
}

/** What a node needs of its cluster. */
export interface ClusterAccessFiles {
    /** The API server's port on this machine's loopback. */
    apiPort: number;
    /** CA certificate, and the client certificate and key the node's kubelet and Multus use. */
    ca: string;
    clientCert: string;
    clientKey: string;
}

/** The kernel settings the kubelet wants (pkg/kubelet/cm, setupKernelTunables): the node sees these values. */
export const KUBELET_SYSCTLS: Record<string, number> = {
    "vm/overcommit_memory": 1,
    "vm/panic_on_oom": 0,
    "kernel/panic": 10,
    "kernel/panic_on_oops": 1,
    "kernel/keys/root_maxkeys": 1000000,
    "kernel/keys/root_maxbytes": 25000000,
};

export function kubeconfig(node: RealNode, access: ClusterAccessFiles): string {
    const b64 = (file: string) => fs.readFileSync(file).toString("base64");
    return YAML.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            { name: node.cluster, cluster: { server: `https://127.0.0.1:${NODE_API_PORT}`, "certificate-authority-data": b64(access.ca) } },
        ],
        users: [{ name: "node", user: { "client-certificate-data": b64(access.clientCert), "client-key-data": b64(access.clientKey) } }],
        contexts: [{ name: node.cluster, context: { cluster: node.cluster, user: "node" } }],
        "current-context": node.cluster,
    });
}

export function containerdConfig(node: RealNode, images: LocalImages): string {
    const cni = path.join(node.dir, "cni");
    return `# containerd of real node ${node.name} (${node.cluster}); /run, /var/lib and /var/log are the node's own.
version = 4
root = "/var/lib/containerd"
state = "/run/containerd"
temp = "/var/lib/containerd-tmp"
imports = []
# Nothing a node needs lives in these, and some would write outside the node's directories.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.image-verifier.v1.bindir", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.differ.v1.erofs", "io.containerd.mount-handler.v1.erofs"]

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "${images.pause.name}"

[plugins.'io.containerd.cri.v1.runtime']
  # This machine withholds CAP_SYS_RESOURCE: never ask runc to lower a process's OOM score.
  restrict_oom_score_adj = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["${NODE_CNI_BIN_DIR}"]
    conf_dir = "${path.join(cni, "net.d")}"
    max_conf_num = 1
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "${path.join(BIN, "runc")}"
      Root = "/run/containerd/runc"
      SystemdCgroup = false
`;
}

export function kubeletConfig(node: RealNode, access: ClusterAccessFiles): string {
    return YAML.stringify({
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        address: node.address,
        port: 10250,
        readOnlyPort: 0,
        healthzBindAddress: "127.0.0.1",
        healthzPort: 10248,
        // The API server authenticates with its client certificate; nothing else reaches this address.
        authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: access.ca } },
        authorization: { mode: "AlwaysAllow" },
        containerRuntimeEndpoint: "unix:///run/containerd/containerd.sock",
        cgroupDriver: "cgroupfs",
        cgroupRoot: `/${node.cgroup}`,
        cgroupsPerQOS: true,
        failCgroupV1: false,
        failSwapOn: false,
        protectKernelDefaults: false,
        resolvConf: path.join(node.dir, "resolv.conf"),
        registerNode: true,
        // As the AWS cloud provider sets it: what the program reads the node's instance and zone from.
        providerID: `aws:///${node.zone}/${node.instanceId}`,
        rotateCertificates: false,
        serverTLSBootstrap: false,
        // The images were imported, not pulled: never collect them, and never evict for a full disk.
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        evictionHard: { "memory.available": "1Mi", "nodefs.available": "0%", "imagefs.available": "0%" },
        nodeStatusUpdateFrequency: "10s",
    });
}

export function multusConfig(node: RealNode): string {
    return JSON.stringify(
        {
            cniVersion: "0.3.1",
            name: "plumr-local-node",
            type: "multus",
            kubeconfig: path.join(node.dir, "kubeconfig"),
            binDir: NODE_CNI_BIN_DIR,
            cniDir: "/var/lib/cni/multus",
            logFile: "/var/log/multus.log",
            logLevel: "verbose",
            // Every pod's eth0: a bridge in the node's namespace, with no route beyond it but to the
            // machine's side of the nodes' veths (198.18.0.0/15), where the API server's pod proxy
            // comes from. Not cni0, the bridge plugin's default name, which an attachment that names
            // no bridge takes.
            delegates: [
                {
                    cniVersion: "0.3.1",
                    name: "pods",
                    type: "bridge",
                    bridge: "plumr-pods",
                    isGateway: true,
                    ipMasq: false,
                    ipam: { type: "host-local", ranges: [[{ subnet: node.podSubnet }]], routes: [{ dst: LAB_NETWORK }] },
                },
            ],
        },
        null,
        2,
    );
}
