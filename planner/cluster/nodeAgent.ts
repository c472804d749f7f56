// What a site's node agent is told about the site: pure, so that what it does on a node shows in
// the preview as the environment of its DaemonSet.
import type { Plan } from "../types";

/**
 * The node agent's environment (besides NODE_NAME): where the binaries and CNI plugins go, the
 * bridge it keeps with each node's gateway address and range, and whether it lets the nodes
 * forward the bridge's traffic. Nothing about the links: adding one leaves the agent as it is.
 */
export function nodeAgentEnv(plan: Plan, siteName: string): Record<string, string> {
    const site = plan.sites[siteName];
    const config = site.config;
    const bridge = config.attachment === "bridge";
    return {
        PLUMR_SITE: siteName,
        PLUMR_HOST_PATH: plan.binaries.hostPath,
        PLUMR_CNI_BIN_DIR: site.cniBinDir,
        PLUMR_CNI_PLUGINS: site.cniPlugins.join(" "),
        ...(bridge && {
            PLUMR_BRIDGE: config.bridgeName,
            PLUMR_NODE_NETWORK: config.nodeNetwork,
            PLUMR_NODES: site.nodes.map((n) => `${n.name},${n.gateway}/${n.range.split("/")[1]},${n.range}`).join(" "),
        }),
    };
}
