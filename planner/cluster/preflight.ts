// What a site's cluster must be like for its links to work, read from the cluster before any
// change: the Kubernetes version, the nodes, and the settings of OpenShift and EKS that break a
// routed bridge. program/clusterReader.ts reads the facts through kubectl; checkCluster holds them against
// the plan, as pure functions.
import * as a from "../addressing/addresses";
import { Problem, Problems, SECRET } from "../problems/errors";
import { answerTo, MONITORING_GROUP, RightAnswer, rightsNeeded } from "./rights";
import { checkClusterNodes } from "../aws/nodes";
import type { ClusterFacts } from "./facts";
import { fieldPath, PlacedSite } from "../topology/schema";
import { endsAt, peerOf } from "../plan";
import type { Plan, SitePlan } from "../types";

/** One check of one site's cluster: what was found, and the problem when it fails. */
export interface PreflightCheck {
    site: string;
    check: string;
    ok: boolean;
    /** What the cluster says. */
    found: string;
    problems: Problem[];
}

/** The first Kubernetes version whose API servers keep native sidecars (init containers with restartPolicy Always). */
const NATIVE_SIDECARS = [1, 29] as const;

function versionOf(gitVersion: string): [number, number] | undefined {
    const match = /^v?(\d+)\.(\d+)/.exec(gitVersion);
    return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** Runs one check of site `site`: `fill` adds its problems, and it passes when it adds none. */
function runCheck(site: string, check: string, found: string, fill: (problems: Problems) => void): PreflightCheck {
    const problems = new Problems();
    fill(problems);
    return { site, check, ok: problems.list.length === 0, found, problems: problems.list };
}

/** Whether the node agent keeps the bridge's traffic forwarded and un-NATed, whatever the cluster's own settings. */
const agentKeepsNetwork = (config: PlacedSite) => config.attachment === "bridge" && config.nodeNetwork === "agent";

/** What a check that the node agent makes moot adds to what it found. */
const byAgent = (config: PlacedSite) =>
    agentKeepsNetwork(config) ? "; the node agent keeps the bridge's traffic forwarded and un-NATed" : "";

/** A server older than native sidecars drops them silently, so the site must use legacy ones there. */
function checkVersion(siteName: string, config: PlacedSite, serverVersion: string | undefined): PreflightCheck {
    const version = serverVersion ? versionOf(serverVersion) : undefined;
    return runCheck(siteName, "Kubernetes version", serverVersion ?? "(not said)", (problems) => {
        const [major, minor] = NATIVE_SIDECARS;
        if (config.sidecar === "native" && version && (version[0] < major || (version[0] === major && version[1] < minor))) {
            problems.add(
                fieldPath(["sites", siteName, "sidecar"]),
                config.sidecar,
                `site ${siteName}'s cluster runs Kubernetes ${serverVersion}, whose API server drops native sidecars silently (they need ${major}.${minor} or later)`,
                `set sites.${siteName}.sidecar to legacy, or upgrade the cluster to Kubernetes ${major}.${minor} (OpenShift 4.16) or later`,
            );
        }
    });
}

/**
 * The topology's nodes must be the cluster's. A node routed by AWS is left to checkClusterNodes,
 * which holds it against its instance too, so that a missing node is reported once.
 */
function checkNodes(plan: Plan, siteName: string, config: PlacedSite, nodes: ClusterFacts["nodes"]): PreflightCheck {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const aws = plan.aws.sites[siteName];
    const routed = new Set(aws?.routedNodes.map((n) => n.node) ?? []);
    return runCheck(siteName, "nodes", `${nodes.length} nodes`, (problems) => {
        const names = nodes.map((n) => n.name);
        config.nodes.forEach((node, i) => {
            // A pool's nodes are the ones its cluster has: only written ones can be missing.
            if (node.slot !== undefined || routed.has(node.name) || byName.has(node.name)) return;
            problems.add(
                fieldPath(["sites", siteName, "nodes", i, "name"]),
                node.name,
                `site ${siteName}'s cluster has no node of this name (it has ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""})`,
                "write the node's name as kubectl get nodes shows it (its kubernetes.io/hostname label)",
            );
        });
        if (aws) checkClusterNodes(aws, nodes, problems);
    });
}

/**
 * A pool's routed nodes are found by their instances: a node that hosts an endpoint must say which
 * EC2 instance it is (its spec.providerID), and in which zone (its topology.kubernetes.io/zone label).
 */
function checkPoolInstances(plan: Plan, siteName: string, config: PlacedSite): PreflightCheck {
    const hosts = new Set(endsAt(plan, siteName).map((end) => end.node));
    const unknown = config.nodes.filter((n) => hosts.has(n.name) && (n.instanceId === undefined || n.availabilityZone === undefined));
    return runCheck(siteName, "pool instances", unknown.length === 0 ? `${config.nodes.length} nodes on EC2` : "", (problems) => {
        for (const node of unknown) {
            problems.add(
                fieldPath(["sites", siteName, "pool"]),
                config.pool?.selector,
                `node ${node.name} of site ${siteName}'s pool hosts an endpoint but does not say ` +
                    (node.instanceId === undefined
                        ? "which EC2 instance it is (no aws:///<zone>/<instance> spec.providerID)"
                        : "its zone (no topology.kubernetes.io/zone label)") +
                    ", so its range cannot be routed to it",
                `check that site ${siteName}'s cluster runs on EC2 with the AWS cloud provider, or set sites.${siteName}.aws.routing to none`,
            );
        }
    });
}

/** The endpoints' second interface needs Multus: the cluster serves NetworkAttachmentDefinitions. */
function checkMultus(siteName: string, config: PlacedSite, multus: boolean | undefined): PreflightCheck {
    const found = multus === undefined ? "(not asked)" : multus ? "k8s.cni.cncf.io/v1 served" : "no k8s.cni.cncf.io/v1";
    return runCheck(siteName, "Multus", found, (problems) => {
        if (multus !== false) return;
        problems.add(
            fieldPath(["sites", siteName, "attachment"]),
            config.attachment,
            `site ${siteName}'s cluster serves no NetworkAttachmentDefinitions (k8s.cni.cncf.io/v1): Multus is not installed, so no endpoint could get its second interface`,
            "install Multus in the cluster (OpenShift ships it; elsewhere, the multus-cni DaemonSet), then run the preflight again",
        );
    });
}

/**
 * The Prometheus operator's objects are created only where the cluster serves them; the preflight
 * says so, and fails where the site requires them.
 */
function checkMonitoring(siteName: string, config: PlacedSite, monitoring: boolean | undefined): PreflightCheck {
    const setting = config.monitoring.prometheus;
    const found =
        setting === "off"
            ? "not asked: monitoring.prometheus is off"
            : monitoring === undefined
              ? "(not asked)"
              : monitoring
                ? "monitoring.coreos.com/v1 served: the stack creates a PodMonitor and a PrometheusRule"
                : "no monitoring.coreos.com/v1 PodMonitors and PrometheusRules: the stack creates neither; the endpoints still serve their metrics";
    return runCheck(siteName, "Prometheus operator", found, (problems) => {
        if (setting !== "required" || monitoring !== false) return;
        problems.add(
            fieldPath(["sites", siteName, "monitoring", "prometheus"]),
            setting,
            `site ${siteName}'s cluster serves no PodMonitors and PrometheusRules (monitoring.coreos.com/v1), so its links would have no scrape and no alerts`,
            "install the Prometheus operator (on OpenShift, enable user-workload monitoring: docs/MONITORING.md), or set it to auto to deploy without them",
        );
    });
}

/** The deployer may create everything the stack creates, each missing right named. */
function checkRights(
    site: SitePlan,
    siteName: string,
    answers: RightAnswer[] | undefined,
    monitoring: boolean | undefined,
): PreflightCheck {
    // The Prometheus operator's objects are created only where the cluster serves them.
    const rights = rightsNeeded(site.config).filter((right) => monitoring === true || right.group !== MONITORING_GROUP);
    const denied = answers ? rights.filter((right) => answerTo(right, answers)?.allowed === false) : [];
    const found =
        answers === undefined
            ? "(not asked)"
            : denied.length === 0
              ? `${rights.length} rights`
              : `may not ${denied.map((r) => r.what).join(", ")}`;
    return runCheck(siteName, "rights", found, (problems) => {
        for (const right of denied) {
            const where = right.namespace === undefined ? "" : ` in namespace ${right.namespace}`;
            problems.add(
                `plumr:access.${siteName}.kubeconfig`,
                SECRET,
                `the identity that deploys site ${siteName} may not ${right.what}${where}, which the stack creates`,
                `grant it ${right.verb} on ${right.resource}${right.group ? `.${right.group}` : ""}${right.name ? `/${right.name}` : ""}${where} (a Role or ClusterRole bound to it), or deploy site ${siteName} with a cluster-admin's kubeconfig`,
            );
        }
    });
}

/** The node agent runs a shell and the node's own tools on every node: a host without them cannot take it. */
function checkNodeSystems(siteName: string, config: PlacedSite, nodes: ClusterFacts["nodes"]): PreflightCheck {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const unfit = config.nodes.flatMap((node, i) => {
        const found = byName.get(node.name);
        const system = found?.osImage ?? found?.os;
        const without = found?.os !== undefined && found.os !== "linux" ? found.os : /bottlerocket|talos/i.exec(found?.osImage ?? "")?.[0];
        return without && system ? [{ node, i, system }] : [];
    });
    const found = unfit.length === 0 ? "Linux with a shell" : unfit.map((u) => `${u.node.name}: ${u.system}`).join(", ");
    return runCheck(siteName, "node systems", found, (problems) => {
        for (const { node, i, system } of unfit) {
            problems.add(
                node.slot === undefined ? fieldPath(["sites", siteName, "nodes", i, "name"]) : fieldPath(["sites", siteName, "pool"]),
                node.slot === undefined ? node.name : config.pool?.selector,
                `site ${siteName}'s node ${node.name} runs ${system}, which has no /bin/sh and no iptables for the node agent to use`,
                "give the links nodes of a general-purpose Linux (Amazon Linux, Red Hat CoreOS, Ubuntu, ...), e.g. a node group of their own",
            );
        }
    });
}

/**
 * `tunDevice: crioAnnotation` asks CRI-O for the tun device: a node of another runtime ignores the
 * annotation, and plumr there finds no /dev/net/tun.
 */
function checkTunDevice(siteName: string, config: PlacedSite, nodes: ClusterFacts["nodes"]): PreflightCheck {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const runtimes = config.nodes.map((node) => ({ node: node.name, runtime: byName.get(node.name)?.runtime }));
    const others =
        config.tunDevice === "crioAnnotation" ? runtimes.filter((r) => r.runtime !== undefined && !r.runtime.startsWith("cri-o://")) : [];
    const said = [...new Set(runtimes.flatMap((r) => (r.runtime ? [r.runtime.split(":")[0]] : [])))];
    return runCheck(siteName, "tun device", `${config.tunDevice} on ${said.join(", ") || "(runtime not said)"}`, (problems) => {
        if (others.length === 0) return;
        problems.add(
            fieldPath(["sites", siteName, "tunDevice"]),
            config.tunDevice,
            `site ${siteName}'s nodes ${others.map((o) => `${o.node} (${o.runtime})`).join(", ")} do not run CRI-O, which alone adds the tun device that the io.kubernetes.cri-o.Devices annotation asks for`,
            `set sites.${siteName}.tunDevice to hostPath (the node's /dev/net/tun as a volume; containerd with runc or crun allows it), or give the links nodes that run CRI-O`,
        );
    });
}

/** Ranges the cluster itself uses, with what routes them elsewhere than to the bridge. */
function takenRanges(config: PlacedSite, facts: ClusterFacts): { range: string; what: string }[] {
    const taken: { range: string; what: string }[] = [];
    for (const range of facts.networks?.cluster ?? [])
        taken.push({ range, what: "the cluster network (pods), which the nodes route into the cluster" });
    for (const range of facts.networks?.service ?? []) taken.push({ range, what: "the service network, which kube-proxy translates" });
    for (const node of facts.nodes) for (const range of node.podCidrs ?? []) taken.push({ range, what: `node ${node.name}'s pod range` });
    if (facts.networkOperator?.networkType === "OVNKubernetes") {
        taken.push({ range: "100.64.0.0/16", what: "OVN-Kubernetes's join subnet, used on every node" });
        taken.push({ range: "100.88.0.0/16", what: "OVN-Kubernetes's transit subnet, used on every node" });
        taken.push({ range: "169.254.0.0/17", what: "OVN-Kubernetes's masquerade subnet, used on every node" });
    }
    if (facts.kubernetesServiceIp)
        taken.push({ range: `${facts.kubernetesServiceIp}/32`, what: "the kubernetes Service's address (the service network)" });
    for (const range of config.clusterNetworks ?? []) taken.push({ range, what: "one of the cluster's networks (clusterNetworks)" });
    return taken;
}

/** The bridge range and the tunnel pool keep clear of the cluster's own networks. */
function checkClusterNetworks(plan: Plan, siteName: string, config: PlacedSite, facts: ClusterFacts): PreflightCheck {
    const taken = takenRanges(config, facts);
    const ours = [
        { field: fieldPath(["sites", siteName, "bridgeRange"]), value: config.bridgeRange, what: `site ${siteName}'s bridge range` },
        { field: fieldPath(["tunnel", "pool"]), value: plan.tunnel.pool, what: "the tunnel pool" },
    ];
    const found = taken.length === 0 ? "(none said: clusterNetworks)" : `${taken.length} ranges`;
    return runCheck(siteName, "cluster networks", found, (problems) => {
        for (const { range, what } of taken) {
            const theirs = a.parseCidr(range);
            if ("error" in theirs) {
                if ((config.clusterNetworks ?? []).includes(range))
                    problems.add(fieldPath(["sites", siteName, "clusterNetworks"]), range, theirs.error, theirs.fix);
                continue;
            }
            for (const own of ours) {
                const mine = a.parseCidr(own.value);
                if ("error" in mine || !a.overlaps(mine.cidr, theirs.cidr)) continue;
                problems.add(
                    own.field,
                    own.value,
                    `overlaps ${range}, ${what} of site ${siteName}'s cluster: traffic to ${own.what} would never reach the endpoints`,
                    "take it from addresses the cluster does not use (e.g. another /16 of 10.0.0.0/8, checked against the cluster's networks)",
                );
            }
        }
    });
}

/** The binaries are built for one architecture, which every node of the site must have. */
function checkArchitecture(wanted: string, siteName: string, config: PlacedSite, nodes: ClusterFacts["nodes"]): PreflightCheck {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const others = config.nodes.flatMap((n) => {
        const arch = byName.get(n.name)?.arch;
        return arch && arch !== wanted ? [{ name: n.name, arch }] : [];
    });
    return runCheck(
        siteName,
        "architecture",
        others.length > 0 ? others.map((n) => `${n.name}: ${n.arch}`).join(", ") : wanted,
        (problems) => {
            for (const node of others) {
                problems.add(
                    fieldPath(["binaries", "architecture"]),
                    wanted,
                    `site ${siteName}'s node ${node.name} is ${node.arch} (its kubernetes.io/arch label): the ${wanted} binaries cannot run there`,
                    `set binaries.architecture to ${node.arch} with the ${node.arch} builds of plumr and shm_printer, or use ${wanted} nodes`,
                );
            }
        },
    );
}

/** OpenShift's OVN-Kubernetes forwards between a node's interfaces only what a routed bridge needs when told to. */
function checkNodeForwarding(siteName: string, config: PlacedSite, operator: ClusterFacts["networkOperator"]): PreflightCheck {
    const forwarding = operator?.ipForwarding ?? "Restricted (the default)";
    const ovn = operator?.networkType === "OVNKubernetes";
    return runCheck(
        siteName,
        "node forwarding",
        (operator ? `${operator.networkType ?? "?"}, ipForwarding ${ovn ? forwarding : "-"}` : "no network operator") + byAgent(config),
        (problems) => {
            if (!ovn || config.attachment !== "bridge" || config.nodeNetwork === "agent" || operator?.ipForwarding === "Global") return;
            problems.add(
                fieldPath(["sites", siteName]),
                `network.operator.openshift.io/cluster: ipForwarding ${forwarding}`,
                `site ${siteName}'s OVN-Kubernetes forwards only the cluster's own traffic between a node's interfaces: the nodes drop what the bridge ${config.bridgeName} routes to the other sites`,
                `set sites.${siteName}.nodeNetwork to agent (the node agent then forwards the bridge's traffic alone), or let the nodes forward everything: ` +
                    `oc patch network.operator.openshift.io cluster --type=merge -p ` +
                    `'{"spec":{"defaultNetwork":{"ovnKubernetesConfig":{"gatewayConfig":{"ipForwarding":"Global"}}}}}' ` +
                    "(every node then forwards between all its interfaces; the nodes' firewalls and security groups still apply)",
            );
        },
    );
}

/** The deployer grants the privileged SCC to the node agent (and to the endpoints where plumr runs privileged), so it must be allowed to use it. */
function checkPrivilegedScc(siteName: string, config: PlacedSite, canUsePrivilegedScc: boolean | undefined): PreflightCheck {
    return runCheck(
        siteName,
        "privileged SCC",
        canUsePrivilegedScc === undefined ? "(not asked)" : canUsePrivilegedScc ? "may use" : "may not use",
        (problems) => {
            if (canUsePrivilegedScc !== false) return;
            problems.add(
                fieldPath(["sites", siteName, "platform"]),
                config.platform,
                `the identity that deploys site ${siteName} may not use the privileged SCC, so it cannot grant it to the node agent${config.tunDevice === "privileged" ? " and the endpoints" : ""} (on ROSA and OSD that takes cluster-admin)`,
                `deploy site ${siteName} with a kubeconfig of a cluster-admin (oc auth can-i use securitycontextconstraints/privileged says yes)`,
            );
        },
    );
}

/** EKS's VPC CNI must not SNAT the traffic to the peers' ranges, or the peers' security groups drop it. */
function checkVpcCniSnat(plan: Plan, siteName: string, config: PlacedSite, cni: ClusterFacts["vpcCni"]): PreflightCheck {
    const peerRanges = [...new Set(endsAt(plan, siteName).map((end) => plan.sites[peerOf(plan, end).site].config.bridgeRange))];
    const excluded = (cni?.excludeSnatCidrs ?? "")
        .split(",")
        .map((c) => a.parseCidr(c.trim()))
        .flatMap((r) => ("cidr" in r ? [r.cidr] : []));
    const snatted = peerRanges.filter((range) => {
        const parsed = a.parseCidr(range);
        return "cidr" in parsed && !excluded.some((ex) => a.containsCidr(ex, parsed.cidr));
    });
    const found = cni
        ? `EXTERNALSNAT=${cni.externalSnat ?? "(unset)"}, EXCLUDE_SNAT_CIDRS=${cni.excludeSnatCidrs ?? "(unset)"}${byAgent(config)}`
        : "no VPC CNI";
    return runCheck(siteName, "VPC CNI SNAT", found, (problems) => {
        if (!cni || agentKeepsNetwork(config) || cni.externalSnat === "true" || snatted.length === 0) return;
        const all = [...(cni.excludeSnatCidrs ? cni.excludeSnatCidrs.split(",").map((c) => c.trim()) : []), ...snatted].join(",");
        problems.add(
            fieldPath(["sites", siteName]),
            `aws-node: AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=${cni.excludeSnatCidrs ?? "(unset)"}`,
            `site ${siteName}'s VPC CNI rewrites the source of traffic to ${snatted.join(", ")} (outside the VPC) to the node's address, so the peers' security groups drop it`,
            `set sites.${siteName}.nodeNetwork to agent (the node agent then keeps the bridge's traffic out of SNAT), or exclude the peers' ranges from SNAT: kubectl -n kube-system set env daemonset aws-node AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=${all}`,
        );
    });
}

/**
 * Holds a site's cluster against the plan: every check, passed or not, with its problems. The
 * topology's nodes must be the cluster's (and, with AWS routing, run on the instances named),
 * built for `binaries.architecture`; the server must keep native sidecars when the site uses them;
 * OpenShift's OVN-Kubernetes must forward between interfaces for a bridge attachment, and the
 * deployer must be able to grant the privileged SCC to the node agent and create and grant the
 * endpoints' own (checkRights); EKS's VPC CNI must not SNAT the traffic to the peers' ranges.
 */
export function checkCluster(plan: Plan, siteName: string, facts: ClusterFacts): PreflightCheck[] {
    const config = plan.sites[siteName].config;
    const checks = [
        checkVersion(siteName, config, facts.serverVersion),
        checkNodes(plan, siteName, config, facts.nodes),
        checkArchitecture(plan.binaries.architecture, siteName, config, facts.nodes),
    ];
    if (config.pool && config.aws?.routing === "transitGateway") checks.push(checkPoolInstances(plan, siteName, config));
    checks.push(checkMultus(siteName, config, facts.multus));
    checks.push(checkMonitoring(siteName, config, facts.monitoring));
    checks.push(checkRights(plan.sites[siteName], siteName, facts.rights, facts.monitoring));
    checks.push(checkNodeSystems(siteName, config, facts.nodes));
    checks.push(checkTunDevice(siteName, config, facts.nodes));
    checks.push(checkClusterNetworks(plan, siteName, config, facts));
    if (config.platform === "openshift") {
        checks.push(checkNodeForwarding(siteName, config, facts.networkOperator));
        checks.push(checkPrivilegedScc(siteName, config, facts.canUsePrivilegedScc));
    }
    if (config.aws) checks.push(checkVpcCniSnat(plan, siteName, config, facts.vpcCni));
    return checks;
}
