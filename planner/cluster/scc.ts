// The SecurityContextConstraints of a site's endpoints on OpenShift: what their pods may ask for,
// and no more. The node agent keeps the built-in privileged SCC, on its own service account.
import type { PlacedSite } from "../topology/schema";

/**
 * The name of the endpoints' SCC of a site. SCCs are cluster-wide, so it carries the site's
 * namespace: two environments in one cluster each have their own.
 */
export const endpointSccName = (namespace: string) => `plumr-endpoint-${namespace}`;

/**
 * The endpoints' SCC: no privileged container and no privilege escalation; NET_ADMIN the only
 * capability a container may add (the plumr sidecars do); hostPath volumes for the binaries on the
 * node and, with `tunDevice: hostPath`, the tun device; any user (plumr runs as root, to hold its
 * capability, and the workload as its image says); the runtime's default seccomp profile; SELinux
 * labels as the restricted SCCs give them, so that a container stays `container_t`; and nothing of
 * the node's namespaces.
 */
export function endpointScc(name: string): Record<string, unknown> {
    return {
        apiVersion: "security.openshift.io/v1",
        kind: "SecurityContextConstraints",
        metadata: { name, labels: { "app.kubernetes.io/part-of": "plumr", "app.kubernetes.io/component": "endpoint" } },
        allowPrivilegedContainer: false,
        allowPrivilegeEscalation: false,
        defaultAllowPrivilegeEscalation: false,
        allowedCapabilities: ["NET_ADMIN"],
        defaultAddCapabilities: [],
        requiredDropCapabilities: [],
        allowHostDirVolumePlugin: true,
        allowHostIPC: false,
        allowHostNetwork: false,
        allowHostPID: false,
        allowHostPorts: false,
        readOnlyRootFilesystem: false,
        runAsUser: { type: "RunAsAny" },
        seLinuxContext: { type: "MustRunAs" },
        fsGroup: { type: "RunAsAny" },
        supplementalGroups: { type: "RunAsAny" },
        seccompProfiles: ["runtime/default"],
        volumes: ["configMap", "downwardAPI", "emptyDir", "hostPath", "projected", "secret"],
        // Granted through RBAC (`use`), to the endpoints' service account alone; ranked as SCCs are by default.
        users: [],
        groups: [],
        priority: 0,
    };
}

/** Whether the site's endpoints run with the site's own SCC: on OpenShift, unless the site runs plumr privileged. */
export const hasEndpointScc = (site: Pick<PlacedSite, "platform" | "tunDevice">) =>
    site.platform === "openshift" && site.tunDevice !== "privileged";
