// The guardrails of the policy pack as pure functions over a resource's type and properties, so
// that each can be tested without the engine. Each returns the violations it finds as messages.
import * as ipaddr from "ipaddr.js";
import { contains, parseCidr, parseIp } from "../planner/addressing/addresses";

/** A resource as a policy sees it. */
export interface Checked {
    type: string;
    name: string;
    props: Record<string, any>;
    /** URN of the provider the resource uses, when it has one. */
    providerUrn?: string;
}

const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet"];
const component = (r: Checked) => r.props.metadata?.labels?.["app.kubernetes.io/component"];
const podSpec = (r: Checked) => r.props.spec?.template?.spec;
const containersOf = (spec: any): any[] => [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];

const isNodeAgent = (r: Checked) => r.type === "kubernetes:apps/v1:DaemonSet" && component(r) === "node-agent";

/** An endpoint's plumr sidecar: `plumr`, or `plumr-<link>` per link. */
const isPlumr = (r: Checked, container: string) => component(r) === "endpoint" && (container === "plumr" || container.startsWith("plumr-"));

/** The capabilities a plumr sidecar may add: making its tun device and its routes takes NET_ADMIN alone. */
export const PLUMR_CAPABILITIES = ["NET_ADMIN"];

/** Whether the endpoint's site runs plumr privileged on purpose (`tunDevice: privileged`, which the pod template says). */
const optsInToPrivilegedPlumr = (r: Checked) => r.props.spec?.template?.metadata?.annotations?.["plumr/tun-device"] === "privileged";

/** What is wrong with one container's privileges, if anything. */
function containerPrivilege(r: Checked, c: any): string | undefined {
    const privileged = c.securityContext?.privileged === true;
    const added: string[] = c.securityContext?.capabilities?.add ?? [];
    if (!privileged && added.length === 0) return undefined;
    if (r.type === "kubernetes:apps/v1:DaemonSet" && isNodeAgent(r) && c.name === "agent") return undefined;
    if (!isPlumr(r, c.name))
        return `container ${c.name} of ${r.name} is privileged or adds capabilities; only the node agent and the plumr sidecar may`;
    if (optsInToPrivilegedPlumr(r)) return undefined;
    const beyond = added.filter((cap) => !PLUMR_CAPABILITIES.includes(cap));
    if (privileged || beyond.length > 0)
        return (
            `plumr sidecar ${c.name} of ${r.name} ${privileged ? "is privileged" : `adds ${beyond.join(", ")}`}; it may add ${PLUMR_CAPABILITIES.join(", ")} alone, ` +
            "unless its site sets tunDevice: privileged"
        );
    return undefined;
}

/**
 * Only the node agent may be privileged; an endpoint's plumr sidecars may add NET_ADMIN, and be
 * privileged only where their site says `tunDevice: privileged`; no other container adds a
 * capability; only the node agent runs on the node's network.
 */
export function privilegeViolations(r: Checked): string[] {
    if (!WORKLOADS.includes(r.type)) return [];
    const violations = containersOf(podSpec(r)).flatMap((c) => containerPrivilege(r, c) ?? []);
    if (podSpec(r)?.hostNetwork === true && !isNodeAgent(r))
        violations.push(`${r.name} runs on the node's network; only the node agent may`);
    return violations;
}

/** The node's tun device, as an endpoint's plumr sidecars may mount it. */
const isTunDevice = (volume: any) => volume.hostPath.path === "/dev/net/tun" && volume.hostPath.type === "CharDevice";

/**
 * hostPath only for the node agent, and in endpoints only for the binaries, mounted read-only, and
 * the tun device, mounted by the plumr sidecars alone.
 */
export function hostPathViolations(r: Checked): string[] {
    if (!WORKLOADS.includes(r.type)) return [];
    const spec = podSpec(r);
    if (isNodeAgent(r)) return [];
    const violations: string[] = [];
    for (const volume of (spec?.volumes ?? []).filter((v: any) => v.hostPath)) {
        if (component(r) === "endpoint" && volume.name === "plumr-tun" && isTunDevice(volume)) {
            for (const c of containersOf(spec).filter((c) => !isPlumr(r, c.name)))
                if ((c.volumeMounts ?? []).some((m: any) => m.name === volume.name))
                    violations.push(`container ${c.name} of ${r.name} mounts the tun device; only the plumr sidecars may`);
            continue;
        }
        if (component(r) !== "endpoint" || volume.name !== "plumr-bin") {
            violations.push(
                `volume ${volume.name} of ${r.name} mounts the host path ${volume.hostPath.path}; only the node agent and the binaries may`,
            );
            continue;
        }
        for (const c of containersOf(spec)) {
            for (const m of c.volumeMounts ?? []) {
                if (m.name === volume.name && m.readOnly !== true)
                    violations.push(`container ${c.name} of ${r.name} mounts the binaries writable`);
            }
        }
    }
    return violations;
}

/** A NetworkAttachmentDefinition's config parses and asks Multus for the pod's IPs, spelled right. */
export function attachmentViolations(r: Checked): string[] {
    if (r.type !== "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition") return [];
    let config: any;
    try {
        config = JSON.parse(r.props.spec?.config);
    } catch {
        return [`the CNI config of ${r.name} is not JSON`];
    }
    const violations: string[] = [];
    if (/"capabilites"/.test(r.props.spec.config)) violations.push(`the CNI config of ${r.name} misspells capabilities as "capabilites"`);
    if (config.capabilities?.ips !== true)
        violations.push(`the CNI config of ${r.name} lacks "capabilities": {"ips": true} at its top level, so Multus drops the pod's IP`);
    return violations;
}

/** The address an endpoint asks for lies in its node's range (where its attachment's gateway is). */
export function addressViolations(resources: Checked[]): string[] {
    const attachments = new Map<string, any>();
    for (const r of resources.filter((x) => x.type === "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition")) {
        try {
            // Keyed by provider too: a stack that deploys two sites has the same names in both clusters.
            attachments.set(`${r.providerUrn}|${r.props.metadata?.namespace}/${r.props.metadata?.name}`, JSON.parse(r.props.spec.config));
        } catch {
            // attachmentViolations reports it
        }
    }
    const violations: string[] = [];
    for (const r of resources.filter((x) => x.type === "kubernetes:apps/v1:Deployment")) {
        const annotation = r.props.spec?.template?.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"];
        if (!annotation) continue;
        for (const selection of JSON.parse(annotation)) {
            const config = attachments.get(`${r.providerUrn}|${selection.namespace}/${selection.name}`);
            const gateway = parseIp(config?.ipam?.routes?.[0]?.gw);
            for (const requested of selection.ips ?? []) {
                const range = ipaddr.IPv4.isValidCIDR(requested)
                    ? parseCidr(`${ipaddr.IPv4.networkAddressFromCIDR(requested)}/${requested.split("/")[1]}`)
                    : parseCidr(undefined);
                if (gateway === undefined || "error" in range || !contains(range.cidr, gateway)) {
                    violations.push(`${r.name} asks for ${requested}, outside the node range of its attachment ${selection.name}`);
                }
            }
        }
    }
    return violations;
}

/** The plumr configs (they may hold keys) live in Secrets, never in ConfigMaps: `config.json`, or an endpoint's `<link>.json`. */
export function plumrConfigViolations(r: Checked): string[] {
    if (r.type !== "kubernetes:core/v1:ConfigMap") return [];
    const keys = [...Object.keys(r.props.data ?? {}), ...Object.keys(r.props.binaryData ?? {})];
    const isConfig = (key: string) =>
        key === "config.json" || (component(r) === "endpoint" && key.endsWith(".json") && key !== "peers.json");
    return keys.filter(isConfig).map((key) => `ConfigMap ${r.name} holds a plumr config (${key}); keep it in a Secret`);
}

/** Every resource names its provider: none goes to whatever cluster a default provider finds. */
export function providerViolations(r: Checked): string[] {
    if (!r.type.startsWith("kubernetes:") && !r.type.startsWith("aws:") && !r.type.startsWith("command:")) return [];
    const name = r.providerUrn?.split("::")[3];
    return !name || name.startsWith("default") ? [`${r.name} has no explicit provider`] : [];
}
