import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { attachmentConfig, attachmentName, networksAnnotation } from "../planner/attachment";
import { sha256 } from "../planner/binaries";
import { EndPlan, Plan, SitePlan } from "../planner/plan";
import { renderTemplate } from "../planner/template";
import { labels, PREFIX } from "./meta";
import { EndFacts } from "../planner/published";

/** What an endpoint takes of its site: where it deploys, and what its pods depend on there. */
export interface SiteHandle {
    /** The site's cluster. */
    provider: k8s.Provider;
    /** The site's namespace. */
    namespace: pulumi.Output<string>;
    /** The site's part of the plan (its config, nodes and sidecar image). */
    plan: SitePlan;
    /** sha256 over the binaries the site's node agent installs: a new one restarts the endpoint. */
    binariesSha256: string;
    /** The endpoints' service account and the ConfigMap of plumr's entrypoint, as the site created them. */
    endpointServiceAccount: pulumi.Input<string>;
    entrypointConfigMap: pulumi.Input<string>;
}

export interface EndpointArgs {
    /** This end of the link. */
    end: EndPlan;
    /** The site this end is in. */
    site: SiteHandle;
    /** The tunnel's settings (device, MTUs, metrics name). */
    tunnel: Plan["tunnel"];
    /** The plumr config template's text. */
    template: string;
    /** `sha256sum -c` lines of plumr and shm_printer, and where the node agent installs them. */
    binaries: { sha256sums: string; hostPath: string };
    /** The site of the other end. */
    peerSite: string;
    /** What the other end publishes: from this program when it manages the peer, else the peer's stack. */
    peer: pulumi.Input<EndFacts>;
}

const BIN_MOUNT = "/opt/plumr";
const CONFIG_MOUNT = "/etc/plumr";
const CONFIG_FILE = "config.json";

/** What endpointPodSpec builds a link end's pod from. */
export interface EndpointPodArgs {
    end: EndPlan;
    site: SitePlan;
    tunnel: Plan["tunnel"];
    binaries: { sha256sums: string; hostPath: string };
    peerSite: string;
    /** The other end's tunnel and underlay addresses. */
    peer: { tunnelIp: pulumi.Input<string>; address: pulumi.Input<string> };
    /** The Secret that holds the rendered plumr config. */
    configSecret: pulumi.Input<string>;
    /** The site's service account for endpoints, and its entrypoint ConfigMap. */
    serviceAccount: pulumi.Input<string>;
    entrypointConfigMap: pulumi.Input<string>;
}

/**
 * The pod of one link end: plumr as a supervised sidecar (native, or a plain container in legacy
 * mode), the only privileged container; the unprivileged workload, told its link and its peer;
 * the metrics reader; the binaries from the node read-only, the config readable by root alone.
 */
export function endpointPodSpec(args: EndpointPodArgs): k8s.types.input.core.v1.PodSpec {
    const { end, site, tunnel, peer } = args;
    const binMount = { name: "plumr-bin", mountPath: BIN_MOUNT, readOnly: true };
    const tunUp = `[ $(( $(cat /sys/class/net/${tunnel.device}/flags) & 1 )) -eq 1 ]`;
    const plumr: k8s.types.input.core.v1.Container = {
        name: "plumr",
        image: site.sidecarImage,
        command: ["/bin/sh", "/plumr-entrypoint/plumr-entrypoint.sh"],
        env: [
            { name: "PLUMR_BIN_DIR", value: BIN_MOUNT },
            // What the entrypoint waits for on the node before it starts plumr.
            { name: "PLUMR_SHA256SUMS", value: args.binaries.sha256sums },
            { name: "PLUMR_CONFIG", value: `${CONFIG_MOUNT}/${CONFIG_FILE}` },
            { name: "PLUMR_LINK", value: end.link },
            { name: "PLUMR_TUN_IP", value: end.tunnelIp },
            { name: "PLUMR_REMOTE_TUN_IP", value: peer.tunnelIp },
            { name: "PLUMR_REMOTE_IP", value: peer.address },
            { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        ],
        // plumr creates the tun device and its routes, which takes the host's /dev/net/tun and
        // NET_ADMIN; nothing else in the pod gets either. As root, whatever user the sidecar
        // image names: a process of another user has no capability in effect, and cannot read
        // its config, which the Secret mounts readable by root alone.
        securityContext: { privileged: true, runAsUser: 0, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
        // Checked every second while it starts, so that the workload starts as soon as the
        // tunnel is up (it waits for this probe); two minutes to come up, as the entrypoint
        // may first wait for the node agent on this node.
        startupProbe: { exec: { command: ["/bin/sh", "-c", tunUp] }, periodSeconds: 1, failureThreshold: 120 },
        livenessProbe: { exec: { command: ["/bin/sh", "-c", tunUp] }, periodSeconds: 5, failureThreshold: 3 },
        volumeMounts: [
            binMount,
            { name: "plumr-config", mountPath: CONFIG_MOUNT, readOnly: true },
            { name: "plumr-entrypoint", mountPath: "/plumr-entrypoint", readOnly: true },
        ],
    };
    const unprivileged = {
        privileged: false,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
    };
    const workload: k8s.types.input.core.v1.Container = {
        name: "workload",
        image: site.config.workload.image,
        command: site.config.workload.command,
        args: site.config.workload.args,
        // What the workload needs to find its peer: which link, which site, and its tunnel address.
        env: [
            { name: "PLUMR_LINK", value: end.link },
            { name: "PLUMR_PEER_SITE", value: args.peerSite },
            { name: "PLUMR_TUN_IP", value: end.tunnelIp },
            { name: "PLUMR_REMOTE_TUN_IP", value: peer.tunnelIp },
        ],
        securityContext: unprivileged,
    };
    const metrics: k8s.types.input.core.v1.Container = {
        name: "metrics",
        image: site.sidecarImage,
        command: [`${BIN_MOUNT}/shm_printer`, "--name", tunnel.metricsName],
        securityContext: unprivileged,
        volumeMounts: [binMount],
    };
    const native = site.config.sidecar === "native";
    return {
        serviceAccountName: args.serviceAccount,
        automountServiceAccountToken: false,
        nodeSelector: { "kubernetes.io/hostname": end.node },
        terminationGracePeriodSeconds: site.config.workload.terminationGracePeriodSeconds,
        // Lets the unprivileged workload ping through the tunnel.
        securityContext: { sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 2147483647" }] },
        initContainers: native ? [{ ...plumr, restartPolicy: "Always" }] : [],
        containers: native ? [workload, metrics] : [plumr, workload, metrics],
        volumes: [
            // OrCreate: the pod may reach its node before the node agent does.
            { name: "plumr-bin", hostPath: { path: args.binaries.hostPath, type: "DirectoryOrCreate" } },
            { name: "plumr-config", secret: { secretName: args.configSecret, defaultMode: 0o400 } },
            { name: "plumr-entrypoint", configMap: { name: args.entrypointConfigMap, defaultMode: 0o555 } },
        ],
    };
}

/**
 * One end of a link: the NetworkAttachmentDefinition that gives the pod its underlay address,
 * the rendered plumr config (a Secret), and a one-replica Deployment pinned to its node in which
 * plumr is a supervised sidecar next to an unprivileged workload and a metrics reader.
 */
export class Endpoint extends pulumi.ComponentResource {
    /** Name of the endpoint's Deployment. */
    public readonly deploymentName: pulumi.Output<string>;
    /** The rendered plumr config, as stored in the Secret. */
    public readonly renderedConfig: pulumi.Output<string>;

    constructor(name: string, args: EndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:link:Endpoint", name, {}, opts);
        const { end, site, tunnel } = args;
        const { provider, namespace } = site;
        const objectName = attachmentName(end.link);
        const linkLabels = labels("endpoint", { [`${PREFIX}/link`]: end.link });
        const peer = pulumi.output(args.peer);

        const nad = new k8s.apiextensions.CustomResource(
            `${name}-attachment`,
            {
                apiVersion: "k8s.cni.cncf.io/v1",
                kind: "NetworkAttachmentDefinition",
                metadata: { name: objectName, namespace, labels: linkLabels },
                spec: { config: attachmentConfig(site.plan, end, tunnel.underlayMtu) },
            },
            { provider, parent: this },
        );

        // The config may hold keys, so it stays secret everywhere, state included.
        this.renderedConfig = pulumi.secret(peer).apply((p) =>
            renderTemplate(args.template, {
                LINK: end.link,
                LOCAL_IP: end.address,
                REMOTE_IP: p.address,
                LOCAL_PORT: end.port,
                REMOTE_PORT: p.port,
                TUN_NAME: tunnel.device,
                TUN_IP: end.tunnelIp,
                TUN_PREFIX: end.tunnelPrefixLength,
                REMOTE_TUN_IP: p.tunnelIp,
                MTU: tunnel.mtu,
            }),
        );
        const secret = new k8s.core.v1.Secret(
            `${name}-config`,
            {
                metadata: { name: `${objectName}-config`, namespace, labels: linkLabels },
                type: "Opaque",
                stringData: { [CONFIG_FILE]: this.renderedConfig },
            },
            { provider, parent: this },
        );

        const deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: { name: objectName, namespace, labels: linkLabels },
                spec: {
                    replicas: 1,
                    // Two pods must never hold the same static address at once.
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: { "app.kubernetes.io/part-of": "plumr", [`${PREFIX}/link`]: end.link } },
                    template: {
                        metadata: {
                            labels: linkLabels,
                            annotations: {
                                "k8s.v1.cni.cncf.io/networks": networksAnnotation(end, site.plan.config.namespace),
                                // A new config or new binaries restart the endpoint.
                                [`${PREFIX}/config-sha256`]: pulumi.unsecret(this.renderedConfig.apply(sha256)),
                                [`${PREFIX}/binaries-sha256`]: site.binariesSha256,
                            },
                        },
                        spec: endpointPodSpec({
                            end,
                            site: site.plan,
                            tunnel,
                            binaries: args.binaries,
                            peerSite: args.peerSite,
                            peer,
                            configSecret: secret.metadata.name,
                            serviceAccount: site.endpointServiceAccount,
                            entrypointConfigMap: site.entrypointConfigMap,
                        }),
                    },
                },
            },
            { provider, parent: this, dependsOn: [nad] },
        );
        this.deploymentName = deployment.metadata.name;
        // The rendered config stays out of the component's outputs: the Secret holds it, and every
        // secret in the state costs the engine work on every checkpoint.
        this.registerOutputs({ deploymentName: this.deploymentName });
    }
}
