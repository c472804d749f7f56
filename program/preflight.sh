#!/bin/sh
# Reads what the program needs to know of a site's cluster before any change (the preflight's
# checks, and the nodes of a site's pool) and prints the API server's answers in sections
# (`### <name>`, then the answer's JSON). The kubeconfig is the file PLUMR_KUBECONFIG_FILE names,
# or else the one on standard input, kept in a private temporary file for this one run;
# PLUMR_CONTEXT picks a context. kubectl runs the kubeconfig's credential plugins, such as
# `aws eks get-token`.
#
# Every question is a plain GET of one object or list (`kubectl get --raw`: no discovery of the
# API's groups first), and all are asked at once, so that a cluster far away costs about one round
# trip. The server's version, the nodes, whether the cluster serves NetworkAttachmentDefinitions
# (Multus), whether it serves the Prometheus operator's PodMonitors and PrometheusRules, the
# `kubernetes` Service's address and, when PLUMR_ACCESS_REVIEWS holds them, the
# deployer's rights (SelfSubjectAccessReviews, all created by one kubectl) are always asked;
# OpenShift's network operator and network configuration and its SCC grant only with
# PLUMR_OPENSHIFT=true, the VPC CNI's settings only with PLUMR_AWS=true. What a cluster does not
# have prints an empty section; a cluster that does not answer fails the run after a minute, with
# kubectl's error.
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ -n "${PLUMR_KUBECONFIG_FILE:-}" ]; then
    kubeconfig=$PLUMR_KUBECONFIG_FILE
else
    kubeconfig="$out/kubeconfig"
    (umask 077 && cat >"$kubeconfig")
fi

k() {
    if [ -n "${PLUMR_CONTEXT:-}" ]; then
        kubectl --kubeconfig "$kubeconfig" --context "$PLUMR_CONTEXT" --request-timeout=60s "$@"
    else
        kubectl --kubeconfig "$kubeconfig" --request-timeout=60s "$@"
    fi
}

# optional SECTION URI: the object at URI, or nothing where the cluster has no such object or kind.
optional() { { k get --raw "$2" 2>/dev/null || true; } >"$out/$1"; }

k get --raw /version >"$out/version" 2>"$out/version.err" &
version=$!
k get --raw /api/v1/nodes >"$out/nodes" 2>"$out/nodes.err" &
nodes=$!
optional multus /apis/k8s.cni.cncf.io/v1 &
optional monitoring /apis/monitoring.coreos.com/v1 &
optional kubernetes-service /api/v1/namespaces/default/services/kubernetes &
if [ -n "${PLUMR_ACCESS_REVIEWS:-}" ]; then
    printf '%s' "$PLUMR_ACCESS_REVIEWS" >"$out/reviews.json"
    # One line per review: verb, group, resource, namespace, allowed (kubectl prints each object apart).
    reviewed='{.spec.resourceAttributes.verb}{"\t"}{.spec.resourceAttributes.group}{"\t"}{.spec.resourceAttributes.resource}{"\t"}{.spec.resourceAttributes.namespace}{"\t"}{.status.allowed}{"\n"}'
    { k create -f "$out/reviews.json" -o "jsonpath=$reviewed" 2>/dev/null || true; } >"$out/rights" &
fi
if [ "${PLUMR_OPENSHIFT:-}" = true ]; then
    optional network-operator /apis/operator.openshift.io/v1/networks/cluster &
    optional network-config /apis/config.openshift.io/v1/networks/cluster &
    { k auth can-i use securitycontextconstraints.security.openshift.io/privileged 2>/dev/null || true; } >"$out/privileged-scc" &
fi
if [ "${PLUMR_AWS:-}" = true ]; then
    optional aws-node /apis/apps/v1/namespaces/kube-system/daemonsets/aws-node &
fi
wait "$version" && version=0 || version=$?
wait "$nodes" && nodes=0 || nodes=$?
wait
if [ "$version" != 0 ]; then cat "$out/version.err" >&2; exit "$version"; fi
if [ "$nodes" != 0 ]; then cat "$out/nodes.err" >&2; exit "$nodes"; fi
for section in version nodes multus monitoring kubernetes-service rights network-operator network-config aws-node privileged-scc; do
    [ -f "$out/$section" ] || continue
    echo "### $section"
    cat "$out/$section"
    echo
done
