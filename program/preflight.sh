#!/bin/sh
# Reads what the preflight (planner/cluster/preflight.ts checkCluster) needs of a site's cluster
# and prints it in sections (`### <name>`). The kubeconfig is the file PLUMR_KUBECONFIG_FILE names,
# or else the one on standard input, kept in a private temporary file for this one run;
# PLUMR_CONTEXT picks a context, and PLUMR_OPENSHIFT=true asks OpenShift's questions too. kubectl
# runs the kubeconfig's credential plugins, such as `aws eks get-token`. What a cluster does not
# have (the OpenShift or EKS objects elsewhere) prints nothing; a cluster that does not answer
# fails the run after a minute. Every question is asked at once, each its own kubectl: a cluster
# far away takes a round trip or more for each.
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ -n "${PLUMR_KUBECONFIG_FILE:-}" ]; then
    kubeconfig=$PLUMR_KUBECONFIG_FILE
else
    kubeconfig="$out/kubeconfig"
    (umask 077 && cat > "$kubeconfig")
fi
if [ -n "${PLUMR_CONTEXT:-}" ]; then set -- --context "$PLUMR_CONTEXT"; else set --; fi
k() { kubectl --kubeconfig "$kubeconfig" --request-timeout=60s "$@"; }
k "$@" version -o json >"$out/version" 2>"$out/version.err" & version=$!
k "$@" get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.providerID}{"\t"}{.metadata.labels.kubernetes\.io/arch}{"\n"}{end}' >"$out/nodes" 2>"$out/nodes.err" & nodes=$!
{ k "$@" get network.operator.openshift.io cluster -o 'jsonpath={.spec.defaultNetwork.type}{"\t"}{.spec.defaultNetwork.ovnKubernetesConfig.gatewayConfig.ipForwarding}{"\n"}' 2>/dev/null || true; } >"$out/network-operator" &
{ k "$@" -n kube-system get daemonset aws-node -o 'jsonpath={range .spec.template.spec.containers[?(@.name=="aws-node")].env[*]}{.name}={.value}{"\n"}{end}{"present\n"}' 2>/dev/null || true; } >"$out/aws-node" &
if [ "${PLUMR_OPENSHIFT:-}" = true ]; then
    { k "$@" auth can-i use securitycontextconstraints.security.openshift.io/privileged 2>/dev/null || true; } >"$out/privileged-scc" &
fi
wait "$version" && version=0 || version=$?
wait "$nodes" && nodes=0 || nodes=$?
wait
if [ "$version" != 0 ]; then cat "$out/version.err" >&2; exit "$version"; fi
if [ "$nodes" != 0 ]; then cat "$out/nodes.err" >&2; exit "$nodes"; fi
for section in version nodes network-operator aws-node privileged-scc; do
    [ -f "$out/$section" ] || continue
    echo "### $section"
    cat "$out/$section"
done
