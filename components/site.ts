import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan, SitePlan } from "../planner/types";
import { NodeAgent } from "./nodeAgent";
import { Monitoring } from "./monitoring";
import type { AlertSettings } from "../planner/cluster/alerts";
import { labels, script } from "./meta";
import { EXPORTER_SCRIPT } from "./endpoint";
import { sha256 } from "../planner/files/binaries";

export interface SiteArgs {
    /** The site's part of the plan: its config, nodes and CNI plugins. */
    plan: SitePlan;
    /** The binaries the node agent installs, its image, and the CNI plugins it may install. */
    binaries: Pick<Plan["binaries"], "packages" | "cniPackages" | "installerImage">;
    /** The node agent's environment (planner/cluster/nodeAgent.ts). */
    nodeAgentEnv: Record<string, string>;
    /** The provider of the site's cluster (program/clusterProviders.ts). */
    provider: k8s.Provider;
    /** The links' alerts, where the site creates the Prometheus operator's objects; none elsewhere. */
    monitoring?: AlertSettings;
}

const SERVICE_ACCOUNTS = { nodeAgent: "plumr-node-agent", endpoint: "plumr-endpoint" } as const;
const ENTRYPOINT_CONFIGMAP = "plumr-entrypoint";
const EXPORTER_CONFIGMAP = "plumr-exporter";

/**
 * One site's share of the deployment: the cluster's provider, the namespace, the privileges the
 * node agent and the endpoints need, the node agent, and where the cluster has the Prometheus
 * operator, the links' PodMonitor and alerts.
 */
export class Site extends pulumi.ComponentResource {
    /** The provider of the site's cluster; every Kubernetes resource of the site uses it. */
    public readonly provider: k8s.Provider;
    /** Namespace of the node agent and the endpoints. */
    public readonly namespace: pulumi.Output<string>;
    public readonly nodeAgent: NodeAgent;
    /** sha256 over the binaries the node agent installs. */
    public readonly binariesSha256: string;
    /** The service account the endpoints run as. */
    public readonly endpointServiceAccount: pulumi.Output<string>;
    /** The ConfigMap with plumr's entrypoint script. */
    public readonly entrypointConfigMap: pulumi.Output<string>;
    /** The ConfigMap with the links' metrics exporter, and the sha256 of its script. */
    public readonly exporterConfigMap: pulumi.Output<string>;
    public readonly exporterSha256: string;
    /**
     * What the site's endpoints need before they are created: the namespace, the service
     * accounts and their privileges, the entrypoint. Not the node agent's rollout: an endpoint's
     * plumr waits on its node for exactly the binaries it was made for, and its traffic for the
     * bridge the agent keeps, so both roll out at once.
     */
    public readonly prerequisites: pulumi.Resource[];
    public readonly plan: SitePlan;

    constructor(name: string, args: SiteArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:Site", name, {}, opts);
        const plan = args.plan;
        this.plan = plan;
        const config = plan.config;

        this.provider = args.provider;
        const provider = this.provider;

        const namespace = this.createNamespace(name, config.namespace);
        this.namespace = namespace.metadata.name;

        const [agentAccount, endpointAccount] = [SERVICE_ACCOUNTS.nodeAgent, SERVICE_ACCOUNTS.endpoint].map(
            (account) =>
                new k8s.core.v1.ServiceAccount(
                    `${name}-${account}`,
                    { metadata: { name: account, namespace: this.namespace, labels: labels("site") }, automountServiceAccountToken: false },
                    { provider, parent: this },
                ),
        );
        const grants = config.platform === "openshift" ? this.grantPrivilegedScc(name, [agentAccount, endpointAccount]) : [];

        const entrypoint = new k8s.core.v1.ConfigMap(
            `${name}-entrypoint`,
            {
                metadata: { name: ENTRYPOINT_CONFIGMAP, namespace: this.namespace, labels: labels("endpoint") },
                data: { "plumr-entrypoint.sh": script("plumr-entrypoint.sh") },
            },
            { provider, parent: this },
        );

        // The exporter is a script the sidecar image runs, shipped as reviewed text: no image or binary of its own.
        const exporterScript = script(EXPORTER_SCRIPT);
        const exporter = new k8s.core.v1.ConfigMap(
            `${name}-exporter`,
            {
                metadata: { name: EXPORTER_CONFIGMAP, namespace: this.namespace, labels: labels("endpoint") },
                data: { [EXPORTER_SCRIPT]: exporterScript },
            },
            { provider, parent: this },
        );

        this.nodeAgent = new NodeAgent(
            `${name}-node-agent`,
            {
                namespace: this.namespace,
                packages: args.binaries.packages,
                cniPackages: plan.cniPlugins.flatMap((plugin) => args.binaries.cniPackages.filter((p) => p.name === plugin)),
                nodes: plan.nodes.map((n) => n.name),
                env: args.nodeAgentEnv,
                image: args.binaries.installerImage,
                serviceAccountName: agentAccount.metadata.name,
                provider,
            },
            {
                parent: this,
                dependsOn: grants,
                // Once the binary installer: its content-addressed chunk ConfigMaps keep their
                // names, so they must stay the same resources (the children inherit the alias).
                aliases: [{ name: `${name}-installer`, type: "plumr:site:BinaryInstaller" }],
            },
        );

        if (args.monitoring)
            new Monitoring(`${name}-monitoring`, { provider, namespace: this.namespace, alerts: args.monitoring }, { parent: this });

        this.binariesSha256 = this.nodeAgent.binariesSha256;
        this.endpointServiceAccount = endpointAccount.metadata.name;
        this.entrypointConfigMap = entrypoint.metadata.name;
        this.exporterConfigMap = exporter.metadata.name;
        this.exporterSha256 = sha256(exporterScript);
        this.prerequisites = [namespace, agentAccount, endpointAccount, entrypoint, exporter, ...grants];

        this.registerOutputs({ namespace: this.namespace });
    }

    /**
     * The site's namespace. The node agent and plumr need privileged containers, so it enforces the
     * privileged Pod Security level; audit and warn still report anything beyond baseline.
     */
    private createNamespace(name: string, namespace: string): k8s.core.v1.Namespace {
        return new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: {
                    name: namespace,
                    labels: {
                        ...labels("site"),
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/audit": "baseline",
                        "pod-security.kubernetes.io/warn": "baseline",
                    },
                },
            },
            { provider: this.provider, parent: this },
        );
    }

    /** On OpenShift, pods run privileged only when their service account may use the privileged SCC. */
    private grantPrivilegedScc(name: string, accounts: k8s.core.v1.ServiceAccount[]): pulumi.Resource[] {
        const provider = this.provider;
        const role = new k8s.rbac.v1.Role(
            `${name}-scc-privileged`,
            {
                metadata: { name: "plumr-scc-privileged", namespace: this.namespace, labels: labels("site") },
                rules: [
                    {
                        apiGroups: ["security.openshift.io"],
                        resources: ["securitycontextconstraints"],
                        resourceNames: ["privileged"],
                        verbs: ["use"],
                    },
                ],
            },
            { provider, parent: this },
        );
        const binding = new k8s.rbac.v1.RoleBinding(
            `${name}-scc-privileged`,
            {
                metadata: { name: "plumr-scc-privileged", namespace: this.namespace, labels: labels("site") },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: accounts.map((account) => ({ kind: "ServiceAccount", name: account.metadata.name, namespace: this.namespace })),
            },
            { provider, parent: this },
        );
        return [role, binding];
    }
}
