import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { attachmentConfig, attachmentName, networksAnnotation } from "../planner/attachment";
import { installerManifest, sha256 } from "../planner/binaries";
import { EndPlan, Plan } from "../planner/plan";
import { renderTemplate } from "../planner/template";
import { labels, PREFIX } from "./meta";
import { EndFacts } from "../planner/published";
import { ENTRYPOINT_CONFIGMAP, SERVICE_ACCOUNTS, Site } from "./site";

export interface EndpointArgs {
    /** The whole plan (tunnel settings, template, binaries). */
    plan: Plan;
    /** This end of the link. */
    end: EndPlan;
    /** The site this end is in; its provider and namespace are used. */
    site: Site;
    /** The site of the other end. */
    peerSite: string;
    /** What the other end publishes: from this program when it manages the peer, else the peer's stack. */
    peer: pulumi.Input<EndFacts>;
}

const BIN_MOUNT = "/opt/plumr";
const CONFIG_MOUNT = "/etc/plumr";
const CONFIG_FILE = "config.json";

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
        const { plan, end, site } = args;
        const { tunnel } = plan;
        const provider = site.provider;
        const namespace = site.namespace;
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
            renderTemplate(plan.template, {
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

        const binMount = { name: "plumr-bin", mountPath: BIN_MOUNT, readOnly: true };
        const tunUp = `[ $(( $(cat /sys/class/net/${tunnel.device}/flags) & 1 )) -eq 1 ]`;
        const plumr: k8s.types.input.core.v1.Container = {
            name: "plumr",
            image: site.plan.sidecarImage,
            command: ["/bin/sh", "/plumr-entrypoint/plumr-entrypoint.sh"],
            env: [
                { name: "PLUMR_BIN_DIR", value: BIN_MOUNT },
                // What the entrypoint waits for on the node before it starts plumr.
                { name: "PLUMR_SHA256SUMS", value: installerManifest(plan.binaries.packages).SHA256SUMS.trimEnd() },
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
            image: site.plan.config.workload.image,
            command: site.plan.config.workload.command,
            args: site.plan.config.workload.args,
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
            image: site.plan.sidecarImage,
            command: [`${BIN_MOUNT}/shm_printer`, "--name", tunnel.metricsName],
            securityContext: unprivileged,
            volumeMounts: [binMount],
        };
        const native = site.plan.config.sidecar === "native";

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
                                [`${PREFIX}/binaries-sha256`]: site.nodeAgent.binariesSha256,
                            },
                        },
                        spec: {
                            serviceAccountName: SERVICE_ACCOUNTS.endpoint,
                            automountServiceAccountToken: false,
                            nodeSelector: { "kubernetes.io/hostname": end.node },
                            terminationGracePeriodSeconds: site.plan.config.workload.terminationGracePeriodSeconds,
                            // Lets the unprivileged workload ping through the tunnel.
                            securityContext: { sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 2147483647" }] },
                            initContainers: native ? [{ ...plumr, restartPolicy: "Always" }] : [],
                            containers: native ? [workload, metrics] : [plumr, workload, metrics],
                            volumes: [
                                // OrCreate: the pod may reach its node before the node agent does.
                                { name: "plumr-bin", hostPath: { path: plan.binaries.hostPath, type: "DirectoryOrCreate" } },
                                { name: "plumr-config", secret: { secretName: secret.metadata.name, defaultMode: 0o400 } },
                                { name: "plumr-entrypoint", configMap: { name: ENTRYPOINT_CONFIGMAP, defaultMode: 0o555 } },
                            ],
                        },
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
