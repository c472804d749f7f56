// What the identity that deploys a site must be allowed to do in its cluster: create what the
// stack creates. The preflight asks the API server (a SelfSubjectAccessReview each, through the
// cluster reader's one kubectl) before any change, so that a missing right is named at once instead of failing
// halfway through `pulumi up`.
import { endpointSccName, hasEndpointScc } from "./scc";
import type { PlacedSite } from "../topology/schema";

/** OpenShift's SecurityContextConstraints, as RBAC names them. */
const SCC = { group: "security.openshift.io", resource: "securitycontextconstraints" };

/** One thing the deployer must be allowed: a verb on a kind, in the site's namespace unless it is cluster-wide. */
export interface Right {
    verb: string;
    group: string;
    resource: string;
    /** Undefined for a cluster-wide kind (namespaces). */
    namespace?: string;
    /** The one object the right is about, where it is about one. */
    name?: string;
    /** What it is in a message: "create DaemonSets". */
    what: string;
}

/** The Prometheus operator's API group. */
export const MONITORING_GROUP = "monitoring.coreos.com";

/**
 * The rights the stack of a site needs: it creates the namespace, and in it everything the node
 * agent and the endpoints are made of; on OpenShift the endpoints' SCC too, and it may grant `use`
 * of it only when it may use it itself (RBAC grants no more than its granter holds); the Prometheus
 * operator's objects unless the site turns monitoring off.
 */
export function rightsNeeded(
    site: Pick<PlacedSite, "namespace" | "platform" | "tunDevice"> & { monitoring?: { prometheus: "auto" | "required" | "off" } },
): Right[] {
    const namespace = site.namespace;
    const inNamespace = (group: string, resource: string, what: string): Right => ({ verb: "create", group, resource, namespace, what });
    return [
        { verb: "create", group: "", resource: "namespaces", what: "create namespaces" },
        inNamespace("", "serviceaccounts", "create ServiceAccounts"),
        inNamespace("", "configmaps", "create ConfigMaps"),
        inNamespace("", "secrets", "create Secrets"),
        inNamespace("apps", "daemonsets", "create DaemonSets"),
        inNamespace("apps", "deployments", "create Deployments"),
        inNamespace("k8s.cni.cncf.io", "network-attachment-definitions", "create NetworkAttachmentDefinitions"),
        ...(site.platform === "openshift"
            ? [
                  inNamespace("rbac.authorization.k8s.io", "roles", "create Roles"),
                  inNamespace("rbac.authorization.k8s.io", "rolebindings", "create RoleBindings"),
              ]
            : []),
        ...(hasEndpointScc(site)
            ? [
                  { verb: "create", group: SCC.group, resource: SCC.resource, what: "create SecurityContextConstraints" },
                  {
                      verb: "use",
                      group: SCC.group,
                      resource: SCC.resource,
                      name: endpointSccName(site.namespace),
                      what: `use the SCC ${endpointSccName(site.namespace)}, to grant it to the endpoints`,
                  },
              ]
            : []),
        // Asked unless the site turns them off; needed only where the cluster serves them (checkRights).
        ...(site.monitoring && site.monitoring.prometheus !== "off"
            ? [
                  inNamespace(MONITORING_GROUP, "podmonitors", "create PodMonitors"),
                  inNamespace(MONITORING_GROUP, "prometheusrules", "create PrometheusRules"),
              ]
            : []),
    ];
}

/** The SelfSubjectAccessReviews that ask the API server about `rights`, as a List (the cluster reader sends each item). */
export function accessReviews(rights: Right[]): object {
    return {
        apiVersion: "v1",
        kind: "List",
        items: rights.map((right) => ({
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: {
                resourceAttributes: {
                    verb: right.verb,
                    group: right.group,
                    resource: right.resource,
                    ...(right.namespace !== undefined && { namespace: right.namespace }),
                    ...(right.name !== undefined && { name: right.name }),
                },
            },
        })),
    };
}

/** What the API server answered about one right. */
export interface RightAnswer {
    verb: string;
    group: string;
    resource: string;
    namespace?: string;
    allowed: boolean;
}

/** The answers of a kubectl create of accessReviews, one line per review: verb, group, resource, namespace, allowed (tab-separated). */
export function parseReviews(text: string): RightAnswer[] {
    return text.split("\n").flatMap((line) => {
        const [verb, group, resource, namespace, allowed] = line.split("\t");
        if (!verb || !resource || (allowed !== "true" && allowed !== "false")) return [];
        return [{ verb, group: group ?? "", resource, ...(namespace && { namespace }), allowed: allowed === "true" }];
    });
}

/** The answer about `right`, if the API server gave one. */
export function answerTo(right: Right, answers: RightAnswer[]): RightAnswer | undefined {
    return answers.find(
        (a) => a.verb === right.verb && a.group === right.group && a.resource === right.resource && a.namespace === right.namespace,
    );
}
