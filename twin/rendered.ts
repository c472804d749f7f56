// The objects a run of the program renders for each link end, as the data-plane twin needs them.
import { exampleTopology, find, runProgram } from "../test/harness";
import { RenderedEndpoint } from "./twin";

/** Runs the program (two-site stack, under mocks) and takes each endpoint's rendered objects. */
export async function renderedEndpoints(topology = exampleTopology()): Promise<RenderedEndpoint[]> {
    const { resources } = await runProgram({ stack: "twin", sites: ["ohio", "mumbai"], topology });
    return ["ohio", "mumbai"].map((site) => {
        const link = topology.links[0];
        const end = link.ends.find((e: any) => e.site === site);
        const node = topology.sites[site].nodes.find((n: any) => n.name === end.node);
        const attachmentConfig = find(
            resources,
            "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition",
            `${site}-${link.name}-attachment`,
        ).inputs.spec.config;
        const deployment = find(resources, "kubernetes:apps/v1:Deployment", `${site}-${link.name}`).inputs;
        const agent = find(resources, "kubernetes:apps/v1:DaemonSet", `${site}-node-agent`).inputs.spec.template.spec.containers[0];
        return {
            site,
            attachmentConfig,
            networks: deployment.spec.template.metadata.annotations["k8s.v1.cni.cncf.io/networks"],
            plumrConfig: find(resources, "kubernetes:core/v1:Secret", `${site}-${link.name}-config`).inputs.stringData["config.json"],
            podSpec: deployment.spec.template.spec,
            bridgeRange: topology.sites[site].bridgeRange,
            nodeRange: node.range,
            gateway: JSON.parse(attachmentConfig).ipam.routes[0].gw,
            otherNodeRanges: topology.sites[site].nodes.filter((n: any) => n.name !== end.node).map((n: any) => n.range),
            node: end.node,
            nodeAgentEnv: Object.fromEntries(agent.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value])),
        };
    });
}
