// What a site's node agent is told about the site: pure, so that what it does on a node shows in
// the preview as the environment of its DaemonSet.
import type { Plan } from "../types";

/** The bridge ranges of the sites that a link joins to `siteName`, each once, sorted. */
export function peerRanges(plan: Plan, siteName: string): string[] {
    const peers = new Set<string>();
    for (const link of plan.links) {
        const end = link.ends.find((e) => e.site === siteName);
        const peer = link.ends.find((e) => e.site !== siteName);
        if (end && peer) peers.add(plan.sites[peer.site].config.bridgeRange);
    }
    return [...peers].sort();
}

/**
 * The node agent's environment (besides NODE_NAME): where the binaries and CNI plugins go, the
 * bridge it keeps with each node's gateway address and range, and whether it lets the nodes
 * forward the bridge's traffic: only between the node's range and the site's own bridge range or
 * a linked site's. Of the links, only the sites they reach: a link to a site already linked, or
 * one between other sites, leaves the agent as it is.
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
            PLUMR_BRIDGE_RANGE: config.bridgeRange,
            PLUMR_PEER_RANGES: peerRanges(plan, siteName).join(" "),
        }),
    };
}
