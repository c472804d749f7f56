import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BinaryPackage, chunkFileName, combinedSha256, installerManifest } from "../planner/binaries";
import { labels, PREFIX, script } from "./meta";

/** The readiness check: every installed binary still has the checksum it was shipped with. */
export function verifyCommand(hostBin: string, manifest: string): string {
    return `cd ${hostBin} && sha256sum -c ${manifest}/SHA256SUMS >/dev/null`;
}

export interface BinaryInstallerArgs {
    /** Namespace the installer runs in. */
    namespace: pulumi.Input<string>;
    /** The binaries, checksummed and cut into chunks by the planner. */
    packages: BinaryPackage[];
    /** Directory on each node that receives the binaries. */
    hostPath: string;
    /** The nodes to install on (`kubernetes.io/hostname`). */
    nodes: string[];
    /** Image with sh, gunzip, sha256sum and sleep. */
    image: string;
    /** Service account of the installer pods (privileged: it writes to the host). */
    serviceAccountName: pulumi.Input<string>;
    /** The site's cluster. */
    provider: k8s.Provider;
}

/**
 * Puts plumr and shm_printer on every node of a site without any image or registry: the gzip'd
 * binaries travel in immutable ConfigMaps, a privileged DaemonSet reassembles, verifies and
 * installs them atomically, and its readiness probe re-checks the checksums, so `pulumi up` only
 * completes when every node has exactly these binaries.
 */
export class BinaryInstaller extends pulumi.ComponentResource {
    /** sha256 over all binaries; it is in the pod template, so a new binary rolls the DaemonSet. */
    public readonly binariesSha256: string;
    /** Name of the installer DaemonSet. */
    public readonly daemonSetName: pulumi.Output<string>;
    public readonly daemonSet: k8s.apps.v1.DaemonSet;

    constructor(name: string, args: BinaryInstallerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:BinaryInstaller", name, {}, opts);
        const { provider } = args;
        this.binariesSha256 = combinedSha256(args.packages);
        const short = this.binariesSha256.slice(0, 10);
        const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: labels("installer") });

        // Content-addressed, immutable ConfigMaps: pods of the old rollout keep their chunks until
        // the new one is ready, and Pulumi deletes the old set only after that.
        const chunkSources: k8s.types.input.core.v1.VolumeProjection[] = [];
        for (const pkg of args.packages) {
            pkg.chunks.forEach((chunk, index) => {
                const file = chunkFileName(pkg.name, index);
                const chunkMap = new k8s.core.v1.ConfigMap(
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

        const manifest = new k8s.core.v1.ConfigMap(
            `${name}-manifest`,
            {
                metadata: meta(`plumr-installer-${short}`),
                immutable: true,
                data: {
                    ...installerManifest(args.packages),
                    "install-binaries.sh": script("install-binaries.sh"),
                },
            },
            { provider, parent: this },
        );

        const selector = { "app.kubernetes.io/part-of": "plumr", "app.kubernetes.io/component": "installer" };
        this.daemonSet = new k8s.apps.v1.DaemonSet(
            name,
            {
                metadata: meta("plumr-installer"),
                spec: {
                    selector: { matchLabels: selector },
                    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                    template: {
                        metadata: {
                            labels: labels("installer"),
                            annotations: { [`${PREFIX}/binaries-sha256`]: this.binariesSha256 },
                        },
                        spec: {
                            serviceAccountName: args.serviceAccountName,
                            automountServiceAccountToken: false,
                            affinity: {
                                nodeAffinity: {
                                    requiredDuringSchedulingIgnoredDuringExecution: {
                                        nodeSelectorTerms: [
                                            {
                                                matchExpressions: [
                                                    { key: "kubernetes.io/hostname", operator: "In", values: [...args.nodes] },
                                                ],
                                            },
                                        ],
                                    },
                                },
                            },
                            initContainers: [
                                {
                                    name: "install",
                                    image: args.image,
                                    command: ["/bin/sh", "/manifest/install-binaries.sh"],
                                    securityContext: { privileged: true },
                                    resources: { requests: { cpu: "10m", memory: "32Mi" } },
                                    volumeMounts: [
                                        { name: "chunks", mountPath: "/chunks", readOnly: true },
                                        { name: "manifest", mountPath: "/manifest", readOnly: true },
                                        { name: "host-bin", mountPath: "/host-bin" },
                                    ],
                                },
                            ],
                            containers: [
                                {
                                    name: "verify",
                                    image: args.image,
                                    // Sleeps, and answers SIGTERM at once rather than after the grace period.
                                    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 3600 & wait $!; done"],
                                    // One mismatch is enough: a changed binary does not change back.
                                    readinessProbe: {
                                        exec: { command: ["/bin/sh", "-c", verifyCommand("/host-bin", "/manifest")] },
                                        periodSeconds: 10,
                                        timeoutSeconds: 10,
                                        failureThreshold: 1,
                                    },
                                    securityContext: {
                                        privileged: false,
                                        allowPrivilegeEscalation: false,
                                        capabilities: { drop: ["ALL"] },
                                    },
                                    resources: { requests: { cpu: "1m", memory: "8Mi" } },
                                    volumeMounts: [
                                        { name: "manifest", mountPath: "/manifest", readOnly: true },
                                        { name: "host-bin", mountPath: "/host-bin", readOnly: true },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "chunks", projected: { sources: chunkSources } },
                                { name: "manifest", configMap: { name: manifest.metadata.name, defaultMode: 0o555 } },
                                { name: "host-bin", hostPath: { path: args.hostPath, type: "DirectoryOrCreate" } },
                            ],
                        },
                    },
                },
            },
            { provider, parent: this },
        );
        this.daemonSetName = this.daemonSet.metadata.name;
        this.registerOutputs({ binariesSha256: this.binariesSha256, daemonSetName: this.daemonSetName });
    }
}
