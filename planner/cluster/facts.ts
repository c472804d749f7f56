// What the program knows of a site's cluster before any change: the API server's answers that
// program/clusterReader.ts gives, parsed into the few facts the checks and the pools use.
import { parseReviews, RightAnswer } from "./rights";

/** A node as its cluster reports it. */
export interface ClusterNode {
    name: string;
    /** `spec.providerID`, e.g. aws:///us-east-2a/i-0a1b2c3d4e5f60718; empty when the node has none. */
    providerId: string;
    /** `kubernetes.io/arch`, when the node says. */
    arch?: string;
    /** The node's labels. */
    labels?: Record<string, string>;
    /** Whether its Ready condition is True. */
    ready?: boolean;
    /** Whether it is cordoned (`spec.unschedulable`). */
    unschedulable?: boolean;
    /** Its operating system (`status.nodeInfo.operatingSystem`, e.g. linux) and image (`osImage`, e.g. Red Hat Enterprise Linux CoreOS 416...). */
    os?: string;
    osImage?: string;
    /** Its container runtime (`status.nodeInfo.containerRuntimeVersion`, e.g. containerd://2.1.4 or cri-o://1.31.6). */
    runtime?: string;
    /** The pod ranges the cluster gave it (`spec.podCIDRs`), where it gives nodes ranges of their own. */
    podCidrs?: string[];
}

/** The zone and instance a provider id names: aws:///us-east-2a/i-0a1b2c3d4e5f60718. */
export function parseProviderId(providerId: string): { zone?: string; instanceId?: string } {
    if (!providerId.startsWith("aws://")) return {};
    const parts = providerId.slice("aws://".length).split("/").filter(Boolean);
    const instanceId = parts.pop();
    return { instanceId: instanceId?.startsWith("i-") ? instanceId : undefined, zone: parts.pop() };
}

/** What program/clusterReader.ts reads from a cluster. */
export interface ClusterFacts {
    /** The API server's version, e.g. v1.29.4; undefined when it did not say. */
    serverVersion?: string;
    nodes: ClusterNode[];
    /**
     * OpenShift's network configuration (network.operator.openshift.io/cluster): its network type
     * and the OVN-Kubernetes gateway's ipForwarding; null where the cluster has none (or was not asked).
     */
    networkOperator: { networkType?: string; ipForwarding?: string } | null;
    /** The EKS VPC CNI's SNAT settings (the aws-node DaemonSet's environment); null where there is none (or it was not asked). */
    vpcCni: { externalSnat?: string; excludeSnatCidrs?: string } | null;
    /** Whether this identity may use the privileged SCC (and so grant it); undefined where not asked. */
    canUsePrivilegedScc?: boolean;
    /** Whether the cluster serves NetworkAttachmentDefinitions (k8s.cni.cncf.io/v1: Multus); undefined where not asked. */
    multus?: boolean;
    /** Whether the cluster serves the Prometheus operator's PodMonitors and PrometheusRules (monitoring.coreos.com/v1); undefined where not asked. */
    monitoring?: boolean;
    /** What the API server answered about each right the stack needs; undefined where not asked. */
    rights?: RightAnswer[];
    /** OpenShift's cluster (pod) and service networks (config.openshift.io networks/cluster); undefined elsewhere. */
    networks?: { cluster: string[]; service: string[] };
    /** The `kubernetes` Service's address: the first of the service network's, where the API says nothing else of it. */
    kubernetesServiceIp?: string;
}

/** Whether an APIResourceList of monitoring.coreos.com/v1 has both kinds the stack would create. */
function servesMonitoring(list: any): boolean {
    const served = new Set<string>((list?.resources ?? []).map((r: any) => String(r?.name)));
    return served.has("podmonitors") && served.has("prometheusrules");
}

/** The sections of what program/clusterReader.ts gives, by name. */
function sections(text: string): Map<string, string> {
    const result = new Map<string, string[]>();
    let current: string[] = [];
    for (const line of text.split("\n")) {
        const heading = /^### (\S+)$/.exec(line);
        if (heading) result.set(heading[1], (current = []));
        else current.push(line);
    }
    return new Map([...result].map(([name, lines]) => [name, lines.join("\n").trim()]));
}

/** A section's JSON; undefined when it is empty (the cluster has no such object) or not JSON. */
function json(text: string | undefined): any {
    if (!text) return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

/** A node as the API server lists it (an item of GET /api/v1/nodes). */
export function parseNode(item: any): ClusterNode {
    const labels: Record<string, string> = item?.metadata?.labels ?? {};
    const arch = labels["kubernetes.io/arch"] ?? item?.status?.nodeInfo?.architecture;
    const ready = (item?.status?.conditions ?? []).find((c: any) => c?.type === "Ready")?.status === "True";
    return {
        name: String(item?.metadata?.name ?? ""),
        providerId: String(item?.spec?.providerID ?? ""),
        ...(arch && { arch }),
        labels,
        ready,
        unschedulable: item?.spec?.unschedulable === true,
        ...(item?.status?.nodeInfo?.operatingSystem && { os: String(item.status.nodeInfo.operatingSystem) }),
        ...(item?.status?.nodeInfo?.osImage && { osImage: String(item.status.nodeInfo.osImage) }),
        ...(item?.status?.nodeInfo?.containerRuntimeVersion && { runtime: String(item.status.nodeInfo.containerRuntimeVersion) }),
        ...(Array.isArray(item?.spec?.podCIDRs) && { podCidrs: item.spec.podCIDRs.map(String) }),
    };
}

/** Parses what program/clusterReader.ts gives. */
export function parseClusterFacts(text: string): ClusterFacts {
    const found = sections(text);
    const operator = json(found.get("network-operator"));
    const awsNode = json(found.get("aws-node"));
    const container = (awsNode?.spec?.template?.spec?.containers ?? []).find((c: any) => c?.name === "aws-node");
    const env = new Map<string, string>((container?.env ?? []).map((e: any) => [e?.name, e?.value]));
    const scc = found.get("privileged-scc");
    const network = json(found.get("network-config"))?.status;
    const service = json(found.get("kubernetes-service"));
    const defaultNetwork = operator?.spec?.defaultNetwork;
    const ipForwarding = defaultNetwork?.ovnKubernetesConfig?.gatewayConfig?.ipForwarding;
    return {
        serverVersion: json(found.get("version"))?.gitVersion,
        nodes: (json(found.get("nodes"))?.items ?? []).map(parseNode),
        networkOperator: operator
            ? { ...(defaultNetwork?.type && { networkType: defaultNetwork.type }), ...(ipForwarding && { ipForwarding }) }
            : null,
        vpcCni: awsNode
            ? {
                  ...(env.has("AWS_VPC_K8S_CNI_EXTERNALSNAT") && { externalSnat: env.get("AWS_VPC_K8S_CNI_EXTERNALSNAT") }),
                  ...(env.has("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS") && { excludeSnatCidrs: env.get("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS") }),
              }
            : null,
        ...(scc && { canUsePrivilegedScc: scc === "yes" }),
        ...(found.has("multus") && { multus: json(found.get("multus")) !== undefined }),
        ...(found.has("monitoring") && { monitoring: servesMonitoring(json(found.get("monitoring"))) }),
        ...(found.has("rights") && { rights: parseReviews(found.get("rights") ?? "") }),
        ...(network && {
            networks: {
                cluster: (network.clusterNetwork ?? []).map((n: any) => String(n?.cidr ?? "")).filter(Boolean),
                service: (network.serviceNetwork ?? []).map(String),
            },
        }),
        ...(service?.spec?.clusterIP && { kubernetesServiceIp: String(service.spec.clusterIP) }),
    };
}
