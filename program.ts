import * as pulumi from "@pulumi/pulumi";
import { Endpoint } from "./components/endpoint";
import { ClusterAccess, EndFacts, Site } from "./components/site";
import { Problems } from "./planner/errors";
import { readLocalFiles } from "./planner/localFiles";
import { EndPlan, endsAt, managedSites, peerOf, Plan, planTopology } from "./planner/plan";
import { parseTopology } from "./planner/topology";

/** Per-site cluster access, from `plumr:access` in the stack's config. */
function readAccess(sites: string[]): Record<string, ClusterAccess> {
    // Read raw: the kubeconfig is usually a secret, and it is wrapped as one again below.
    const raw = pulumi.runtime.getConfig("plumr:access");
    const access = raw ? (JSON.parse(raw) as Record<string, Partial<ClusterAccess>>) : {};
    const problems = new Problems();
    const result: Record<string, ClusterAccess> = {};
    for (const site of sites) {
        const entry = access[site] ?? {};
        if (typeof entry.kubeconfig !== "string" || entry.kubeconfig === "") {
            problems.add(
                `plumr:access.${site}.kubeconfig`,
                undefined,
                `this stack deploys site ${site} but has no kubeconfig for its cluster`,
                `pulumi config set --secret --path 'plumr:access.${site}.kubeconfig' "$(cat <kubeconfig of ${site}>)"`,
            );
            continue;
        }
        result[site] = { kubeconfig: pulumi.secret(entry.kubeconfig), context: entry.context };
    }
    problems.throwIfAny();
    return result;
}

/** The plan's own values for an end: what a peer stack that has not been deployed yet will publish. */
function staticFacts(plan: Plan, end: EndPlan): EndFacts {
    const { site, node, address, tunnelIp, port } = end;
    return { site, node, address, tunnelIp, port, range: plan.sites[site].config.bridgeRange };
}

/** Reads another stack's published sites, one StackReference per peer site. */
class PeerStacks {
    private readonly refs = new Map<string, pulumi.StackReference>();
    private readonly names: Record<string, string>;

    constructor(config: pulumi.Config) {
        this.names = config.getObject<Record<string, string>>("peerStacks") ?? {};
    }

    /** The stack that manages `site`: `plumr:peerStacks.<site>`, else `<org>/<project>/<site>`. */
    stackName(site: string): string {
        return this.names[site] ?? `${pulumi.getOrganization()}/${pulumi.getProject()}/${site}`;
    }

    facts(plan: Plan, end: EndPlan): pulumi.Output<EndFacts> {
        const name = this.stackName(end.site);
        let ref = this.refs.get(name);
        if (!ref) {
            ref = new pulumi.StackReference(`peer-${end.site}`, { name });
            this.refs.set(name, ref);
        }
        const bootstrap = staticFacts(plan, end);
        return ref.getOutput("sites").apply((sites: any) => {
            const published: EndFacts | undefined = sites?.[end.site]?.endpoints?.[end.link];
            if (!published) {
                pulumi.log.info(`stack ${name} publishes no end of link ${end.link} yet; using the topology's values until it is deployed`);
                return bootstrap;
            }
            if (published.address !== bootstrap.address || published.tunnelIp !== bootstrap.tunnelIp || published.port !== bootstrap.port) {
                pulumi.log.warn(
                    `stack ${name} publishes ${JSON.stringify(published)} for its end of link ${end.link}, but the topology says ` +
                        `${JSON.stringify(bootstrap)}; this end follows what is deployed there. Run pulumi up on ${name} to converge.`,
                );
            }
            return published;
        });
    }
}

/** Everything a stack exports: per site and per link. */
export interface Deployment {
    sites: Record<string, pulumi.Output<unknown>>;
    links: Record<string, unknown>;
}

/**
 * The whole program: plan the topology, then deploy the sites this stack manages and their link
 * ends. Everything that can be wrong with the configuration fails here, before any resource.
 */
export function deploy(baseDir = process.cwd()): Deployment {
    const config = new pulumi.Config("plumr");
    const topology = parseTopology(config.requireObject("topology"));
    const plan = planTopology(topology, readLocalFiles(topology, baseDir));
    const managed = managedSites(plan, config.getObject<string[]>("sites"), pulumi.getStack());
    const access = readAccess(managed);
    const peers = new PeerStacks(config);

    const sites: Record<string, Site> = {};
    for (const name of managed) sites[name] = new Site(name, { plan, access: access[name] });

    for (const name of managed) {
        const site = sites[name];
        for (const end of endsAt(plan, name)) {
            const peerEnd = peerOf(plan, end);
            const peerSite = sites[peerEnd.site];
            const peer = peerSite ? peerSite.endpoints.apply((e) => e[end.link]) : peers.facts(plan, peerEnd);
            new Endpoint(`${name}-${end.link}`, { plan, end, site, peer }, { dependsOn: [site] });
        }
    }

    const siteOutputs: Record<string, pulumi.Output<unknown>> = {};
    for (const name of managed) {
        const site = sites[name];
        siteOutputs[name] = pulumi.output({
            namespace: site.namespace,
            platform: site.plan.config.platform,
            bridgeRange: site.plan.config.bridgeRange,
            nodes: site.plan.nodes,
            installer: { daemonSet: site.installer.daemonSetName, binariesSha256: site.installer.binariesSha256 },
            endpoints: site.endpoints,
        });
    }
    const links: Record<string, unknown> = {};
    for (const link of plan.links) {
        links[link.name] = {
            tunnelSubnet: link.tunnelSubnet,
            mtu: link.mtu,
            ends: link.ends.map((end) => ({
                ...staticFacts(plan, end),
                deployedBy: managed.includes(end.site) ? pulumi.getStack() : peers.stackName(end.site),
            })),
        };
    }
    return { sites: siteOutputs, links };
}
