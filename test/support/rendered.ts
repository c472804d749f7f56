// The objects a run of the program renders for each endpoint, as the data-plane twin needs them.
import * as path from "path";
import { formatAllocations } from "../../planner/addressing/allocations";
import { planAllocations } from "../../planner/plan";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, find, Registered, runProgram } from "./harness";
import { RenderedEndpoint } from "../../dev/twin/twin";

const SITES = ["ohio", "mumbai"];

/**
 * One endpoint's rendered objects, found by the name of its objects: a named endpoint's own name, or the link's name
 * for an end written in a link.
 */
function renderedEndpoint(resources: Registered[], topology: any, site: string, name: string, nodeName: string): RenderedEndpoint {
    const node = topology.sites[site].nodes.find((n: any) => n.name === nodeName);
    const attachmentConfig = find(resources, "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition", `${site}-${name}-attachment`)
        .inputs.spec.config;
    const deployment = find(resources, "kubernetes:apps/v1:Deployment", `${site}-${name}`).inputs;
    const podSpec = deployment.spec.template.spec;
    const secret = find(resources, "kubernetes:core/v1:Secret", `${site}-${name}-config`).inputs.stringData;
    // Each plumr container reads the Secret's key that its PLUMR_CONFIG names (the Secret's volume has a file per key).
    const plumrConfigs = Object.fromEntries(
        [...(podSpec.initContainers ?? []), ...podSpec.containers].flatMap((c: any) => {
            const file = c.env?.find((e: any) => e.name === "PLUMR_CONFIG")?.value;
            return file === undefined ? [] : [[c.name, secret[path.basename(file)]]];
        }),
    );
    const agent = find(resources, "kubernetes:apps/v1:DaemonSet", `${site}-node-agent`).inputs.spec.template.spec.containers[0];
    return {
        site,
        attachmentConfig,
        networks: deployment.spec.template.metadata.annotations["k8s.v1.cni.cncf.io/networks"],
        plumrConfigs,
        podSpec,
        bridgeRange: topology.sites[site].bridgeRange,
        nodeRange: node.range,
        gateway: JSON.parse(attachmentConfig).ipam.routes[0].gw,
        otherNodeRanges: topology.sites[site].nodes.filter((n: any) => n.name !== nodeName).map((n: any) => n.range),
        node: nodeName,
        nodeAgentEnv: Object.fromEntries(agent.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value])),
    };
}

/** Runs the program (two-site stack, under mocks) and takes each site's end of the first link. */
export async function renderedEndpoints(topology = exampleTopology()): Promise<RenderedEndpoint[]> {
    const { resources } = await runProgram({ stack: "twin", sites: SITES, topology });
    const link = topology.links[0];
    return SITES.map((site) => {
        const end = link.ends.find((e: any) => e.site === site);
        return renderedEndpoint(resources, topology, site, link.name, end.node);
    });
}

/**
 * Runs the program (two-site stack, under mocks) on a topology of named endpoints, with the allocations
 * `npm run allocate` would record for it, and takes every named endpoint's rendered objects, by name.
 */
export async function renderedNamedEndpoints(topology: any): Promise<Record<string, RenderedEndpoint>> {
    const allocations = formatAllocations(planAllocations(parseTopology(topology), undefined).record);
    const { resources } = await runProgram({ stack: "twin", sites: SITES, topology, allocations });
    return Object.fromEntries(
        Object.entries<any>(topology.endpoints).map(([name, e]) => [name, renderedEndpoint(resources, topology, e.site, name, e.node)]),
    );
}
