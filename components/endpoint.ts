import type * as k8s from "@pulumi/kubernetes";
import { CustomResource } from "@pulumi/kubernetes/apiextensions/customResource";
import { Deployment } from "@pulumi/kubernetes/apps/v1/deployment";
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import stringify from "fast-json-stable-stringify";
import { attachmentConfig, attachmentName, networksAnnotation } from "../planner/cluster/attachment";
import { sha256 } from "../planner/files/binaries";
import type { EndPlan, EndpointPlan, Plan, SitePlan } from "../planner/types";
import { renderTemplate } from "../planner/files/template";
import { labels, PREFIX } from "./meta";
import { EndFacts } from "../planner/published";
import { METRICS_PORT, metricLabels, PROBE_COUNT, PROBE_INTERVAL_SECONDS, PROBE_WINDOW } from "../planner/cluster/metrics";

/** What an endpoint takes of its site: where it deploys, and what its pods depend on there. */
export interface SiteHandle {
    /** The site's cluster. */
    provider: Provider;
    /** The site's namespace. */
    namespace: pulumi.Output<string>;
    /** The site's part of the plan (its config, nodes and sidecar image). */
    plan: SitePlan;
    /** sha256 over the binaries the site's node agent installs: a new one restarts the endpoint. */
    binariesSha256: string;
    /** The endpoints' service account and the ConfigMaps of plumr's entrypoint and of the metrics exporter, as the site created them. */
    endpointServiceAccount: pulumi.Input<string>;
    entrypointConfigMap: pulumi.Input<string>;
    exporterConfigMap: pulumi.Input<string>;
    /** sha256 of the exporter's script: a new one restarts the endpoint. */
    exporterSha256: string;
    /** What the endpoint's pod needs before it is created (see Site.prerequisites); only the Deployment waits for it. */
    prerequisites: pulumi.Resource[];
}

/**
 * The other end of one of an endpoint's links: its site, its endpoint's name (by which a named
 * endpoint's workload reaches it), and what it publishes: from this stack when it deploys the
 * peer's site, else from the peer's stack. `Facts` is how the facts are held where it is used.
 */
export interface Peer<Facts = EndFacts> {
    site: string;
    endpoint: string;
    facts: Facts;
}

export interface EndpointArgs {
    /** The endpoint and its link ends. */
    endpoint: EndpointPlan;
    /** The site the endpoint is in. */
    site: SiteHandle;
    /** The tunnel's settings (device, MTUs, metrics name). */
    tunnel: Plan["tunnel"];
    /** The plumr config template's text. */
    template: string;
    /** `sha256sum -c` lines of plumr and shm_printer, and where the node agent installs them. */
    binaries: { sha256sums: string; hostPath: string };
    /** The other end of each of the endpoint's links, in the order of `endpoint.ends`. */
    peers: Peer<pulumi.Input<EndFacts>>[];
}

const BIN_MOUNT = "/opt/plumr";
const CONFIG_MOUNT = "/etc/plumr";
const CONFIG_FILE = "config.json";
const PEERS_MOUNT = "/etc/plumr-peers";
const PEERS_FILE = "peers.json";
/** The tun character device (10:200) plumr opens to make its tunnel's device. */
const TUN_DEVICE = "/dev/net/tun";
/** CRI-O's pod annotation that adds host devices it allows (`allowed_devices`) to the pod's containers. */
export const CRIO_DEVICES_ANNOTATION = "io.kubernetes.cri-o.Devices";
/** The pod annotation that says how the pod's plumr sidecars get the tun device: the site's `tunDevice`. */
export const TUN_DEVICE_ANNOTATION = `${PREFIX}/tun-device`;
const EXPORTER_MOUNT = "/plumr-exporter";
/** The exporter's script, by its key in the site's ConfigMap. */
export const EXPORTER_SCRIPT = "plumr-exporter.sh";
/**
 * The pod annotation that holds a named endpoint's peers file; a downward API volume shows it to
 * the workload as a file. Part of the pod template, so it changes with the pod and needs no object of its own.
 */
export const PEERS_ANNOTATION = `${PREFIX}/peers`;

/** The key of a link end's rendered config in the endpoint's Secret: config.json, or <link>.json in a named endpoint. */
const configKey = (endpoint: EndpointPlan, end: EndPlan) => (endpoint.named ? `${end.link}.json` : CONFIG_FILE);

/** What endpointPodSpec builds an endpoint's pod from. */
export interface EndpointPodArgs {
    endpoint: EndpointPlan;
    site: SitePlan;
    tunnel: Plan["tunnel"];
    binaries: { sha256sums: string; hostPath: string };
    /** The other end of each of the endpoint's links, in the order of `endpoint.ends`. */
    peers: Peer<{ tunnelIp: pulumi.Input<string>; address: pulumi.Input<string> }>[];
    /** The Secret that holds the rendered plumr configs. */
    configSecret: pulumi.Input<string>;
    /** The site's service account for endpoints, its entrypoint ConfigMap and its exporter's. */
    serviceAccount: pulumi.Input<string>;
    entrypointConfigMap: pulumi.Input<string>;
    exporterConfigMap: pulumi.Input<string>;
}

type Container = k8s.types.input.core.v1.Container;

/** The binaries from the node, read-only: plumr's and shm_printer, which the metrics exporter runs. */
const binMount = () => ({ name: "plumr-bin", mountPath: BIN_MOUNT, readOnly: true });

/** The workload and the metrics exporter need no privilege, and get none. */
const unprivileged = () => ({
    privileged: false,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
});

/**
 * What a plumr sidecar may do. Making a tun device and giving it its address, MTU and routes in the
 * pod's own network namespace takes CAP_NET_ADMIN and the tun device, and nothing else: every
 * other capability is dropped, the runtime's default seccomp profile applies, no process gains
 * privileges, and the root filesystem is read-only (a writable /tmp stands by). As root, whatever
 * user the sidecar image names: a process of another user has no capability in effect, and cannot
 * read its config, which the Secret mounts readable by root alone. `privileged` is the site's
 * explicit choice for runtimes that give the device no other way.
 */
export function plumrSecurityContext(tunDevice: SitePlan["config"]["tunDevice"]): k8s.types.input.core.v1.SecurityContext {
    if (tunDevice === "privileged") return { privileged: true, runAsUser: 0, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } };
    return {
        privileged: false,
        allowPrivilegeEscalation: false,
        runAsUser: 0,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** The plumr of one link end, with `peer` at the link's other end. */
function plumrContainer(args: EndpointPodArgs, end: EndPlan, peer: EndpointPodArgs["peers"][number]): Container {
    const { endpoint, site } = args;
    const tunUp = `[ $(( $(cat /sys/class/net/${end.device}/flags) & 1 )) -eq 1 ]`;
    return {
        name: endpoint.named ? `plumr-${end.link}` : "plumr",
        image: site.sidecarImage,
        command: ["/bin/sh", "/plumr-entrypoint/plumr-entrypoint.sh"],
        env: [
            { name: "PLUMR_BIN_DIR", value: BIN_MOUNT },
            // What the entrypoint waits for on the node before it starts plumr.
            { name: "PLUMR_SHA256SUMS", value: args.binaries.sha256sums },
            { name: "PLUMR_CONFIG", value: `${CONFIG_MOUNT}/${configKey(endpoint, end)}` },
            { name: "PLUMR_LINK", value: end.link },
            { name: "PLUMR_TUN_IP", value: end.tunnelIp },
            { name: "PLUMR_REMOTE_TUN_IP", value: peer.facts.tunnelIp },
            { name: "PLUMR_REMOTE_IP", value: peer.facts.address },
            { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        ],
        // plumr creates the tun device and its routes, which takes the tun device and NET_ADMIN;
        // nothing else in the pod gets NET_ADMIN, nor the device through a volume.
        securityContext: plumrSecurityContext(site.config.tunDevice),
        // Checked every second while it starts, so that the workload starts as soon as the
        // tunnel is up (it waits for this probe); two minutes to come up, as the entrypoint
        // may first wait for the node agent on this node.
        startupProbe: { exec: { command: ["/bin/sh", "-c", tunUp] }, periodSeconds: 1, failureThreshold: 120 },
        livenessProbe: { exec: { command: ["/bin/sh", "-c", tunUp] }, periodSeconds: 5, failureThreshold: 3 },
        volumeMounts: [
            binMount(),
            { name: "plumr-config", mountPath: CONFIG_MOUNT, readOnly: true },
            { name: "plumr-entrypoint", mountPath: "/plumr-entrypoint", readOnly: true },
            ...(site.config.tunDevice === "privileged" ? [] : [{ name: "plumr-tmp", mountPath: "/tmp" }]),
            ...(site.config.tunDevice === "hostPath" ? [{ name: "plumr-tun", mountPath: TUN_DEVICE, readOnly: true }] : []),
        ],
    };
}

/** The user's workload, told its links and its peers. */
function workloadContainer(endpoint: EndpointPlan, peers: EndpointPodArgs["peers"]): Container {
    const [firstEnd] = endpoint.ends;
    // What the workload needs to find its peers: for an end written in a link, which link, which
    // site and the tunnel addresses; for a named endpoint, its name, and the file that lists its peers.
    const found = endpoint.named
        ? [
              { name: "PLUMR_ENDPOINT", value: endpoint.name },
              { name: "PLUMR_SITE", value: endpoint.site },
              { name: "PLUMR_PEERS", value: `${PEERS_MOUNT}/${PEERS_FILE}` },
          ]
        : [
              { name: "PLUMR_LINK", value: firstEnd.link },
              { name: "PLUMR_PEER_SITE", value: peers[0].site },
              { name: "PLUMR_TUN_IP", value: firstEnd.tunnelIp },
              { name: "PLUMR_REMOTE_TUN_IP", value: peers[0].facts.tunnelIp },
          ];
    const { workload } = endpoint;
    return {
        name: "workload",
        image: workload.image,
        command: workload.command,
        args: workload.args,
        env: [...found, ...(workload.env ?? [])],
        ports: workload.ports,
        resources: workload.resources,
        securityContext: unprivileged(),
        volumeMounts: endpoint.named ? [{ name: "plumr-peers", mountPath: PEERS_MOUNT, readOnly: true }] : undefined,
    };
}

/**
 * The links' metrics exporter (components/scripts/plumr-exporter.sh), unprivileged: it probes each
 * link through its tun device, serves the metrics on the `metrics` port, and keeps shm_printer
 * printing plumr's own metrics to its log.
 */
function metricsContainer(args: EndpointPodArgs): Container {
    const { endpoint, site, tunnel, peers } = args;
    return {
        name: "metrics",
        image: site.sidecarImage,
        command: ["/bin/sh", `${EXPORTER_MOUNT}/${EXPORTER_SCRIPT}`],
        // Four per link end: its tun device, its tunnel address, the peer's, and the metrics' labels.
        args: endpoint.ends.flatMap((end, i) => [end.device, end.tunnelIp, peers[i].facts.tunnelIp, metricLabels(endpoint, end, peers[i])]),
        env: [
            { name: "PLUMR_METRICS_ADDRESS", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "PLUMR_METRICS_PORT", value: String(METRICS_PORT) },
            { name: "PLUMR_PROBE_INTERVAL_SECONDS", value: String(PROBE_INTERVAL_SECONDS) },
            { name: "PLUMR_PROBE_COUNT", value: String(PROBE_COUNT) },
            { name: "PLUMR_PROBE_WINDOW", value: String(PROBE_WINDOW) },
            { name: "PLUMR_BIN_DIR", value: BIN_MOUNT },
            { name: "PLUMR_METRICS_NAME", value: tunnel.metricsName },
        ],
        ports: [{ name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" }],
        securityContext: unprivileged(),
        volumeMounts: [binMount(), { name: "plumr-exporter", mountPath: EXPORTER_MOUNT, readOnly: true }],
    };
}

function podVolumes(args: EndpointPodArgs): k8s.types.input.core.v1.Volume[] {
    return [
        // OrCreate: the pod may reach its node before the node agent does.
        { name: "plumr-bin", hostPath: { path: args.binaries.hostPath, type: "DirectoryOrCreate" } },
        { name: "plumr-config", secret: { secretName: args.configSecret, defaultMode: 0o400 } },
        { name: "plumr-entrypoint", configMap: { name: args.entrypointConfigMap, defaultMode: 0o555 } },
        // plumr's root filesystem is read-only; this is where it may write.
        ...(args.site.config.tunDevice === "privileged" ? [] : [{ name: "plumr-tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } }]),
        // The node's tun device alone, for the plumr sidecars alone (a read-only mount of a device
        // node still opens for writing: it is the device, not the file, that is written).
        ...(args.site.config.tunDevice === "hostPath" ? [{ name: "plumr-tun", hostPath: { path: TUN_DEVICE, type: "CharDevice" } }] : []),
        { name: "plumr-exporter", configMap: { name: args.exporterConfigMap, defaultMode: 0o555 } },
        // A named endpoint's peers file: the pod's own annotation.
        ...(args.endpoint.named
            ? [
                  {
                      name: "plumr-peers",
                      downwardAPI: {
                          items: [{ path: PEERS_FILE, fieldRef: { fieldPath: `metadata.annotations['${PEERS_ANNOTATION}']` } }],
                      },
                  },
              ]
            : []),
    ];
}

/**
 * The pod of one endpoint: per link a plumr as a supervised sidecar (native, or a plain container in
 * legacy mode), the only containers with NET_ADMIN and the tun device; the unprivileged workload, told its links and its
 * peers (a named endpoint's workload reaches each peer by name); the links' metrics exporter; the binaries
 * from the node read-only, the configs readable by root alone.
 */
export function endpointPodSpec(args: EndpointPodArgs): k8s.types.input.core.v1.PodSpec {
    const { endpoint, site, peers } = args;
    const plumrs = endpoint.ends.map((end, i) => plumrContainer(args, end, peers[i]));
    const workload = workloadContainer(endpoint, peers);
    const metrics = metricsContainer(args);
    const native = site.config.sidecar === "native";
    return {
        serviceAccountName: args.serviceAccount,
        automountServiceAccountToken: false,
        nodeSelector: { "kubernetes.io/hostname": endpoint.node },
        terminationGracePeriodSeconds: endpoint.workload.terminationGracePeriodSeconds,
        // Lets the unprivileged workload ping through the tunnel.
        securityContext: { sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 2147483647" }] },
        // A named endpoint's peers by name: <endpoint> and <endpoint>.<site>, at their tunnel addresses.
        hostAliases: endpoint.named
            ? peers.map((peer) => ({ ip: peer.facts.tunnelIp, hostnames: [peer.endpoint, `${peer.endpoint}.${peer.site}`] }))
            : undefined,
        initContainers: native ? plumrs.map((plumr) => ({ ...plumr, restartPolicy: "Always" })) : [],
        containers: native ? [workload, metrics] : [...plumrs, workload, metrics],
        volumes: podVolumes(args),
    };
}

/**
 * The annotations that say how the pod's plumr sidecars get the tun device: always the site's
 * choice (the policy pack lets a plumr sidecar be privileged only where it says `privileged`), and
 * with `crioAnnotation` the device for CRI-O to add. CRI-O adds it to every container of the pod,
 * but only the plumr sidecars have NET_ADMIN, without which the device makes no tunnel.
 */
export function tunDeviceAnnotations(tunDevice: SitePlan["config"]["tunDevice"]): Record<string, string> {
    return {
        [TUN_DEVICE_ANNOTATION]: tunDevice,
        ...(tunDevice === "crioAnnotation" && { [CRIO_DEVICES_ANNOTATION]: `${TUN_DEVICE}:${TUN_DEVICE}:rw` }),
    };
}

/** One line of a named endpoint's peers file, about one of its peers. */
export interface PeersFileLine {
    /** The peer endpoint, and its site: the workload reaches it as <endpoint> or <endpoint>.<site>. */
    endpoint: string;
    site: string;
    /** The link to it. */
    link: string;
    /** The peer's tunnel address, and this endpoint's on the same link. */
    tunnelIp: string;
    localTunnelIp: string;
    /** The link's UDP port, and the peer's underlay address. */
    port: number;
    address: string;
    /** The tun device of the link in this pod. */
    device: string;
}

/** The peers file of a named endpoint: its name and site, and its peers sorted by name. */
export function peersFile(endpoint: EndpointPlan, peers: Peer[]): string {
    const entries: PeersFileLine[] = endpoint.ends.map((end, i) => ({
        endpoint: peers[i].endpoint,
        site: peers[i].site,
        link: end.link,
        tunnelIp: peers[i].facts.tunnelIp,
        localTunnelIp: end.tunnelIp,
        port: peers[i].facts.port,
        address: peers[i].facts.address,
        device: end.device,
    }));
    entries.sort((x, y) => x.endpoint.localeCompare(y.endpoint));
    return `${JSON.stringify({ endpoint: endpoint.name, site: endpoint.site, peers: entries }, null, 2)}\n`;
}

/** A peer end whose facts are known as an output. */

/** Each link end's plumr config, by its key in the Secret, rendered from the template with its peer's facts. */
function renderConfigs(args: EndpointArgs, peerFacts: pulumi.Output<EndFacts[]>): pulumi.Output<Record<string, string>> {
    const { endpoint, tunnel } = args;
    // The configs may hold keys, so they stay secret everywhere, state included.
    return pulumi.secret(peerFacts).apply((facts) =>
        Object.fromEntries(
            endpoint.ends.map((end, i) => [
                configKey(endpoint, end),
                renderTemplate(args.template, {
                    LINK: end.link,
                    LOCAL_IP: end.address,
                    REMOTE_IP: facts[i].address,
                    LOCAL_PORT: end.port,
                    REMOTE_PORT: facts[i].port,
                    TUN_NAME: end.device,
                    TUN_IP: end.tunnelIp,
                    TUN_PREFIX: end.tunnelPrefixLength,
                    REMOTE_TUN_IP: facts[i].tunnelIp,
                    MTU: tunnel.mtu,
                }),
            ]),
        ),
    );
}

/**
 * One endpoint: the NetworkAttachmentDefinition that gives the pod its underlay address, the
 * rendered plumr configs (a Secret), and a one-replica Deployment pinned to its node in which each
 * link's plumr is a supervised sidecar next to an unprivileged workload and the links' metrics exporter; a
 * named endpoint's pod carries its peers file as an annotation.
 */
export class Endpoint extends pulumi.ComponentResource {
    /** Name of the endpoint's Deployment. */
    public readonly deploymentName: pulumi.Output<string>;
    /** The rendered plumr configs, as stored in the Secret, by key. */
    public readonly renderedConfigs: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: EndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:link:Endpoint", name, {}, opts);
        const { endpoint, site } = args;
        const objectName = attachmentName(endpoint.name);
        const selector: Record<string, string> = endpoint.named
            ? { [`${PREFIX}/endpoint`]: endpoint.name }
            : { [`${PREFIX}/link`]: endpoint.ends[0].link };
        const endpointLabels = labels("endpoint", selector);
        const peers = args.peers.map((peer) => ({ ...peer, facts: pulumi.output(peer.facts) }));

        const nad = this.attachment(name, args, objectName, endpointLabels);
        /** Every peer's facts, in the order of the endpoint's ends: its configs and its peers file are made from them. */
        const peerFacts = pulumi.all(peers.map((peer) => peer.facts));
        this.renderedConfigs = renderConfigs(args, peerFacts);
        const secret = this.configSecret(name, args, objectName, endpointLabels);
        const deployment = new Deployment(
            name,
            {
                metadata: { name: objectName, namespace: site.namespace, labels: endpointLabels },
                spec: {
                    replicas: 1,
                    // Two pods must never hold the same static address at once.
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: { "app.kubernetes.io/part-of": "plumr", ...selector } },
                    template: {
                        metadata: { labels: endpointLabels, annotations: this.podAnnotations(endpoint, site, peers, peerFacts) },
                        spec: endpointPodSpec({
                            endpoint,
                            site: site.plan,
                            tunnel: args.tunnel,
                            binaries: args.binaries,
                            peers,
                            configSecret: secret.metadata.name,
                            serviceAccount: site.endpointServiceAccount,
                            entrypointConfigMap: site.entrypointConfigMap,
                            exporterConfigMap: site.exporterConfigMap,
                        }),
                    },
                },
            },
            { provider: site.provider, parent: this, dependsOn: [nad, ...site.prerequisites] },
        );
        this.deploymentName = deployment.metadata.name;
        // The rendered configs stay out of the component's outputs: the Secret holds them, and every
        // secret in the state costs the engine work on every checkpoint.
        this.registerOutputs({ deploymentName: this.deploymentName });
    }

    /** The NetworkAttachmentDefinition that gives the pod its underlay address. */
    private attachment(name: string, args: EndpointArgs, objectName: string, endpointLabels: Record<string, string>): CustomResource {
        const { endpoint, site } = args;
        return new CustomResource(
            `${name}-attachment`,
            {
                apiVersion: "k8s.cni.cncf.io/v1",
                kind: "NetworkAttachmentDefinition",
                metadata: { name: objectName, namespace: site.namespace, labels: endpointLabels },
                spec: { config: attachmentConfig(site.plan, endpoint, args.tunnel.underlayMtu) },
            },
            { provider: site.provider, parent: this },
        );
    }

    /** The Secret that holds the rendered configs, one key per link end. */
    private configSecret(name: string, args: EndpointArgs, objectName: string, endpointLabels: Record<string, string>): Secret {
        const { endpoint, site } = args;
        return new Secret(
            `${name}-config`,
            {
                metadata: { name: `${objectName}-config`, namespace: site.namespace, labels: endpointLabels },
                type: "Opaque",
                stringData: Object.fromEntries(
                    endpoint.ends.map((end) => [
                        configKey(endpoint, end),
                        this.renderedConfigs.apply((configs) => configs[configKey(endpoint, end)]),
                    ]),
                ),
            },
            { provider: site.provider, parent: this },
        );
    }

    /** The pod's annotations: its underlay network, what restarts it when it changes, and a named endpoint's peers file. */
    private podAnnotations(
        endpoint: EndpointPlan,
        site: SiteHandle,
        peers: Peer<pulumi.Output<EndFacts>>[],
        peerFacts: pulumi.Output<EndFacts[]>,
    ): Record<string, pulumi.Input<string>> {
        // A single config's checksum is its text's, as it always was; several configs', their keys' and texts'.
        const configSha256 = this.renderedConfigs.apply((configs) =>
            endpoint.named ? sha256(stringify(configs)) : sha256(configs[CONFIG_FILE]),
        );
        return {
            "k8s.v1.cni.cncf.io/networks": networksAnnotation(endpoint, site.plan.config.namespace),
            // A new config, new binaries or a new exporter restart the endpoint.
            [`${PREFIX}/config-sha256`]: pulumi.unsecret(configSha256),
            [`${PREFIX}/binaries-sha256`]: site.binariesSha256,
            ...tunDeviceAnnotations(site.plan.config.tunDevice),
            [`${PREFIX}/exporter-sha256`]: site.exporterSha256,
            ...(endpoint.named && {
                [PEERS_ANNOTATION]: peerFacts.apply((facts) =>
                    peersFile(
                        endpoint,
                        peers.map((peer, i) => ({ ...peer, facts: facts[i] })),
                    ),
                ),
            }),
        };
    }
}
