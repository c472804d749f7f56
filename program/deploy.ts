import * as pulumi from "@pulumi/pulumi";
import type { Provider } from "@pulumi/kubernetes/provider";
import { Endpoint, Peer } from "../components/endpoint";
import { Site } from "../components/site";
import { sha256sums } from "../planner/files/binaries";
import { endpointsAt, endsAt, peerOf } from "../planner/plan";
import type { EndPlan } from "../planner/types";
import { nodeAgentEnv } from "../planner/cluster/nodeAgent";
import { CONTRACT_VERSION, EndFacts, endFacts, PublishedSite } from "../planner/published";
import type { ClusterRead } from "./clusterReader";
import { PeerStacks } from "./peerStacks";
import { Prepared, warnIfStale } from "./prepare";
import { preflight } from "./preflight";
import { PROGRAM_VERSION } from "./version";
import type { AlertSettings } from "../planner/cluster/alerts";
import type { PlacedSite } from "../planner/topology/schema";

/**
 * The site's alerts where it creates the Prometheus operator's objects: not where its monitoring is
 * off, nor where its cluster serves no PodMonitors and PrometheusRules (the preflight says so).
 */
function monitoringOf(site: string, config: PlacedSite, cluster: ClusterRead | undefined): AlertSettings | undefined {
    const served = cluster !== undefined && "facts" in cluster && cluster.facts.monitoring === true;
    if (config.monitoring.prometheus === "off" || !served) return undefined;
    const { linkDownFor, lossRatioAbove } = config.monitoring;
    return { site, stack: pulumi.getStack(), linkDownFor, lossRatioAbove };
}

/** Everything a stack exports: per site (the contract with its peers' stacks) and per link. */
export interface Deployment {
    sites: Record<string, pulumi.Output<PublishedSite>>;
    links: Record<string, unknown>;
}

/**
 * The whole program: deploy the sites this stack manages and their link ends, as `prepare` planned
 * them, once their clusters (`clusters`, read by readClusters) fit the plan; `providers` reach
 * the clusters (clusterProviders). The configuration has
 * been checked by then, so what can still fail is the clusters not fitting the topology (the
 * preflight, before any change) and the clusters and clouds themselves.
 */
export async function deploy(
    prepared: Prepared,
    clusters: Record<string, ClusterRead>,
    providers: Record<string, Provider>,
): Promise<Deployment> {
    const { managed, access } = prepared;
    const plan = preflight(prepared, clusters);
    warnIfStale(prepared, plan);
    const peers = new PeerStacks(prepared.peerStacks, prepared.environment);

    // The AWS side loads only for a stack that routes a site through AWS: its packages take about
    // a tenth of a second to load, on every run.
    const routed = managed.filter((n) => plan.aws.sites[n]);
    const aws = routed.length > 0 ? await import("./deployAws") : undefined;
    // What the routed sites' plans need from AWS, found before anything changes: a lookup that
    // finds nothing, or a pin that disagrees with what it finds, fails the run here.
    const awsSides = aws ? await aws.discoverAws(plan, routed, access) : {};

    // What each end publishes, from the plan: for a peer in this stack, in this stack's outputs, and
    // for a peer in another stack until that stack has been deployed.
    const facts = new Map(plan.links.flatMap((link) => link.ends).map((end) => [end, endFacts(plan, end)]));
    const factsOf = (end: EndPlan) => facts.get(end)!;

    const sites: Record<string, Site> = {};
    for (const name of managed) {
        sites[name] = new Site(name, {
            plan: plan.sites[name],
            binaries: plan.binaries,
            nodeAgentEnv: nodeAgentEnv(plan, name),
            provider: providers[name],
            monitoring: monitoringOf(name, plan.sites[name].config, clusters[name]),
        });
    }
    const awsFacts = aws ? await aws.deployAws(plan, awsSides, peers) : {};

    const binaries = { sha256sums: sha256sums(plan.binaries.packages).trimEnd(), hostPath: plan.binaries.hostPath };
    for (const name of managed) {
        const site = sites[name];
        for (const endpoint of endpointsAt(plan, name)) {
            const endPeers = endpoint.ends.map((end): Peer<pulumi.Input<EndFacts>> => {
                const peerEnd = peerOf(plan, end);
                return {
                    site: peerEnd.site,
                    endpoint: peerEnd.endpoint ?? peerEnd.link,
                    facts: managed.includes(peerEnd.site) ? factsOf(peerEnd) : peers.facts(peerEnd, factsOf(peerEnd)),
                };
            });
            new Endpoint(`${name}-${endpoint.name}`, {
                endpoint,
                site,
                tunnel: plan.tunnel,
                template: plan.template,
                binaries,
                peers: endPeers,
            });
        }
    }

    const siteOutputs: Record<string, pulumi.Output<PublishedSite>> = {};
    for (const name of managed) {
        const site = sites[name];
        siteOutputs[name] = pulumi.output({
            programVersion: PROGRAM_VERSION,
            contractVersion: CONTRACT_VERSION,
            namespace: site.namespace,
            platform: site.plan.config.platform,
            bridgeRange: site.plan.config.bridgeRange,
            nodes: site.plan.nodes,
            nodeAgent: { daemonSet: site.nodeAgent.daemonSetName, binariesSha256: site.nodeAgent.binariesSha256 },
            endpoints: Object.fromEntries(endsAt(plan, name).map((end) => [end.link, factsOf(end)])),
            aws: awsFacts[name],
        });
    }
    const links: Record<string, unknown> = {};
    for (const link of plan.links) {
        links[link.name] = {
            tunnelSubnet: link.tunnelSubnet,
            mtu: link.mtu,
            // Between named endpoints, each end has a device of its own, in its facts.
            ...(link.ends[0].endpoint === undefined && { device: plan.tunnel.device }),
            ends: link.ends.map((end) => ({
                ...factsOf(end),
                deployedBy: managed.includes(end.site) ? pulumi.getStack() : peers.stackName(end.site),
            })),
        };
    }
    return { sites: siteOutputs, links };
}
