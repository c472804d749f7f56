import { CustomResource, CustomResourceArgs } from "@pulumi/kubernetes/apiextensions/customResource";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { Namespace } from "@pulumi/kubernetes/core/v1/namespace";
import { ServiceAccount } from "@pulumi/kubernetes/core/v1/serviceAccount";
import { Role } from "@pulumi/kubernetes/rbac/v1/role";
import { RoleBinding } from "@pulumi/kubernetes/rbac/v1/roleBinding";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import type { Plan, SitePlan } from "../planner/types";
import { endpointScc, endpointSccName, hasEndpointScc } from "../planner/cluster/scc";
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
    provider: Provider;
    /** The links' alerts, where the site creates the Prometheus operator's objects; none elsewhere. */
    monitoring?: AlertSettings;
}

const SERVICE_ACCOUNTS = { nodeAgent: "plumr-node-agent", endpoint: "plumr-endpoint" } as const;
const ENTRYPOINT_CONFIGMAP = "plumr-entrypoint";
const EXPORTER_CONFIGMAP = "plumr-exporter";

/**
 * One site's share of the deployment: the cluster's provider, the namespace, the privileges the
 * node agent and the endpoints need (on OpenShift, the privileged SCC for the node agent and an SCC
 * of the site's own for the endpoints), the node agent, and where the cluster has the Prometheus
 * operator, the links' PodMonitor and alerts.
 */
export class Site extends pulumi.ComponentResource {
    /** The provider of the site's cluster; every Kubernetes resource of the site uses it. */
    public readonly provider: Provider;
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
                new ServiceAccount(
                    `${name}-${account}`,
                    { metadata: { name: account, namespace: this.namespace, labels: labels("site") }, automountServiceAccountToken: false },
                    { provider, parent: this },
                ),
        );
        const grants = config.platform === "openshift" ? this.grantSccs(name, plan, agentAccount, endpointAccount) : [];

        const entrypoint = new ConfigMap(
            `${name}-entrypoint`,
            {
                metadata: { name: ENTRYPOINT_CONFIGMAP, namespace: this.namespace, labels: labels("endpoint") },
                data: { "plumr-entrypoint.sh": script("plumr-entrypoint.sh") },
            },
            { provider, parent: this },
        );

        // The exporter is a script the sidecar image runs, shipped as reviewed text: no image or binary of its own.
        const exporterScript = script(EXPORTER_SCRIPT);
        const exporter = new ConfigMap(
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
                grants,
                provider,
            },
            {
                parent: this,
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
     * The site's namespace. The node agent needs a privileged container and the endpoints hostPath
     * volumes and NET_ADMIN, so it enforces the privileged Pod Security level; audit and warn still
     * report anything beyond baseline.
     */
    private createNamespace(name: string, namespace: string): Namespace {
        return new Namespace(
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

    /**
     * On OpenShift, a pod runs with what an SCC its service account may use allows. The node agent,
     * which changes the node, may use the privileged SCC; the endpoints, the site's own SCC
     * (endpointScc: NET_ADMIN and the tun device), or the privileged one where the site's
     * `tunDevice` says `privileged`.
     */
    private grantSccs(name: string, plan: SitePlan, agentAccount: ServiceAccount, endpointAccount: ServiceAccount): pulumi.Resource[] {
        if (!hasEndpointScc(plan.config)) return this.grantScc(name, "privileged", "privileged", [agentAccount, endpointAccount]);
        const scc = new CustomResource(`${name}-scc-endpoint`, endpointScc(endpointSccName(plan.config.namespace)) as CustomResourceArgs, {
            provider: this.provider,
            parent: this,
        });
        return [
            ...this.grantScc(name, "privileged", "privileged", [agentAccount]),
            scc,
            ...this.grantScc(name, "endpoint", scc.metadata.name, [endpointAccount], [scc]),
        ];
    }

    /** A Role `plumr-scc-<grant>` that may use the SCC `scc`, bound to `accounts`. */
    private grantScc(
        name: string,
        grant: string,
        scc: pulumi.Input<string>,
        accounts: ServiceAccount[],
        dependsOn: pulumi.Resource[] = [],
    ): pulumi.Resource[] {
        const provider = this.provider;
        const objectName = `plumr-scc-${grant}`;
        const role = new Role(
            `${name}-scc-${grant}`,
            {
                metadata: { name: objectName, namespace: this.namespace, labels: labels("site") },
                rules: [
                    {
                        apiGroups: ["security.openshift.io"],
                        resources: ["securitycontextconstraints"],
                        resourceNames: [scc],
                        verbs: ["use"],
                    },
                ],
            },
            { provider, parent: this, dependsOn },
        );
        const binding = new RoleBinding(
            `${name}-scc-${grant}`,
            {
                metadata: { name: objectName, namespace: this.namespace, labels: labels("site") },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: accounts.map((account) => ({ kind: "ServiceAccount", name: account.metadata.name, namespace: this.namespace })),
            },
            { provider, parent: this },
        );
        return [role, binding];
    }
}
