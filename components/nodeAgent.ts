import type * as k8s from "@pulumi/kubernetes";
import { DaemonSet } from "@pulumi/kubernetes/apps/v1/daemonSet";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import stringify from "fast-json-stable-stringify";
import { BinaryPackage, chunkFileName, combinedSha256, installerManifest, sha256 } from "../planner/files/binaries";
import { labels, PREFIX, script } from "./meta";

/** Where the agent sees the node's root filesystem. */
export const HOST_ROOT = "/host";

export interface NodeAgentArgs {
    /** Namespace the agent runs in. */
    namespace: pulumi.Input<string>;
    /** plumr and shm_printer, checksummed and cut into chunks by the planner. */
    packages: BinaryPackage[];
    /** The CNI plugins the program ships, for the nodes that lack them (may be empty). */
    cniPackages: BinaryPackage[];
    /** The nodes to run on (`kubernetes.io/hostname`). */
    nodes: string[];
    /** The agent's environment, from the planner (nodeAgentEnv): what it installs and keeps where. */
    env: Record<string, string>;
    /** Image with sh, chroot, gunzip, sha256sum and sleep. */
    image: string;
    /** Service account of the agent's pods (privileged: it changes the node). */
    serviceAccountName: pulumi.Input<string>;
    /**
     * What must exist before the agent's pods are created: on OpenShift, the grant of the SCC its
     * service account uses. Only the DaemonSet waits for it; the ConfigMaps go at once.
     */
    grants: pulumi.Resource[];
    /** The site's cluster. */
    provider: Provider;
}

/**
 * The agent's pod: privileged, in the node's network namespace, with the node's root filesystem
 * at /host. One container runs `node-agent.sh run`; its readiness probe is `node-agent.sh check`,
 * and when a check fails the container exits with the failures as its termination message, which
 * `pulumi up` prints with the pod's name.
 */
export function nodeAgentPodSpec(args: {
    nodes: string[];
    env: Record<string, string>;
    image: string;
    serviceAccountName: pulumi.Input<string>;
    manifestName: pulumi.Input<string>;
    chunkSources: k8s.types.input.core.v1.VolumeProjection[];
}): k8s.types.input.core.v1.PodSpec {
    const agent = (mode: string) => ["/bin/sh", "/manifest/node-agent.sh", mode];
    return {
        serviceAccountName: args.serviceAccountName,
        automountServiceAccountToken: false,
        hostNetwork: true,
        // On the node's network, the pod still resolves the cluster's names.
        dnsPolicy: "ClusterFirstWithHostNet",
        affinity: {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [...args.nodes] }] }],
                },
            },
        },
        containers: [
            {
                name: "agent",
                image: args.image,
                command: agent("run"),
                env: [
                    { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                    { name: "PLUMR_HOST_ROOT", value: HOST_ROOT },
                    ...Object.entries(args.env).map(([name, value]) => ({ name, value })),
                ],
                // One failed check is enough: a changed binary does not change back by itself.
                readinessProbe: { exec: { command: agent("check") }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 1 },
                // The agent writes the checks that failed as its termination message; its last log
                // lines stand in when it fails otherwise (an install that does not add up).
                terminationMessagePolicy: "FallbackToLogsOnError",
                securityContext: { privileged: true },
                resources: { requests: { cpu: "10m", memory: "32Mi" } },
                volumeMounts: [
                    { name: "chunks", mountPath: "/chunks", readOnly: true },
                    { name: "manifest", mountPath: "/manifest", readOnly: true },
                    { name: "host", mountPath: HOST_ROOT },
                ],
            },
        ],
        volumes: [
            { name: "chunks", projected: { sources: args.chunkSources } },
            { name: "manifest", configMap: { name: args.manifestName, defaultMode: 0o555 } },
            { name: "host", hostPath: { path: "/", type: "Directory" } },
        ],
    };
}

/**
 * A site's node agent: a DaemonSet on every node of the site that puts plumr and shm_printer there
 * without any image or registry (the gzip'd binaries travel in immutable ConfigMaps, and are
 * reassembled, verified and installed atomically), installs the CNI plugins a node lacks, relabels
 * the binaries where SELinux is enabled, and keeps the node's bridge, forwarding and NAT ready for
 * the site's links (components/scripts/node-agent.sh). `pulumi up` completes only when every node
 * passes every check.
 */
export class NodeAgent extends pulumi.ComponentResource {
    /** sha256 over plumr and shm_printer; it is in the pod template, so a new binary rolls the DaemonSet. */
    public readonly binariesSha256: string;
    /** Name of the agent's DaemonSet. */
    public readonly daemonSetName: pulumi.Output<string>;
    public readonly daemonSet: DaemonSet;

    constructor(name: string, args: NodeAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:NodeAgent", name, {}, opts);
        const { provider } = args;
        this.binariesSha256 = combinedSha256(args.packages);
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels("node-agent") });

        // Content-addressed, immutable ConfigMaps: pods of the old rollout keep their chunks until
        // the new one is ready, and Pulumi deletes the old set only after that.
        const chunkSources: k8s.types.input.core.v1.VolumeProjection[] = [];
        for (const pkg of [...args.packages, ...args.cniPackages]) {
            pkg.chunks.forEach((chunk, index) => {
                const file = chunkFileName(pkg.name, index);
                const chunkMap = new ConfigMap(
                    `${name}-${file}`,
                    {
                        metadata: meta(`plumr-bin-${pkg.sha256.slice(0, 10)}-${file.replace(/[._]/g, "-")}`),
                        immutable: true,
                        binaryData: { chunk: chunk.toString("base64") },
                    },
                    { provider, parent: this },
                );
                chunkSources.push({ configMap: { name: chunkMap.metadata.name, items: [{ key: "chunk", path: file }] } });
            });
        }

        // Named after its contents: new binaries or a new script make a new ConfigMap, and roll the agent.
        const manifestData: Record<string, string> = {
            ...installerManifest(args.packages, args.cniPackages),
            "install-binaries.sh": script("install-binaries.sh"),
            "node-agent.sh": script("node-agent.sh"),
        };
        const manifest = new ConfigMap(
            `${name}-manifest`,
            {
                metadata: meta(`plumr-node-agent-${sha256(stringify(manifestData)).slice(0, 10)}`),
                immutable: true,
                data: manifestData,
            },
            { provider, parent: this },
        );

        const selector = { "app.kubernetes.io/part-of": "plumr", "app.kubernetes.io/component": "node-agent" };
        this.daemonSet = new DaemonSet(
            name,
            {
                metadata: meta("plumr-node-agent"),
                spec: {
                    selector: { matchLabels: selector },
                    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                    template: {
                        metadata: {
                            labels: labels("node-agent"),
                            annotations: { [`${PREFIX}/binaries-sha256`]: this.binariesSha256 },
                        },
                        spec: nodeAgentPodSpec({
                            nodes: args.nodes,
                            env: args.env,
                            image: args.image,
                            serviceAccountName: args.serviceAccountName,
                            manifestName: manifest.metadata.name,
                            chunkSources,
                        }),
                    },
                },
            },
            { provider, parent: this, dependsOn: args.grants },
        );
        this.daemonSetName = this.daemonSet.metadata.name;
        this.registerOutputs({ binariesSha256: this.binariesSha256, daemonSetName: this.daemonSetName });
    }
}
