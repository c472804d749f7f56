import * as pulumi from "@pulumi/pulumi";
import { AwsFacts, AwsRouting } from "./components/awsRouting";
import { Endpoint } from "./components/endpoint";
import { ClusterAccess, EndFacts, endFacts, Site } from "./components/site";
import { describeChanges } from "./planner/allocations";
import { planAws } from "./planner/aws";
import { Problems } from "./planner/errors";
import { readLocalFiles } from "./planner/localFiles";
import { EndPlan, endsAt, managedSites, peerOf, Plan, planTopology } from "./planner/plan";
import { parseTopology } from "./planner/topology";

/** How a stack reaches one site: its cluster, and the AWS profile of its account. */
type SiteAccess = ClusterAccess & { awsProfile?: string };

/** Per-site access, from `plumr:access` in the stack's config. */
function readAccess(sites: string[]): Record<string, SiteAccess> {
    // Read raw: the kubeconfig is usually a secret, and it is wrapped as one again below.
    const raw = pulumi.runtime.getConfig("plumr:access");
    const access = raw ? (JSON.parse(raw) as Record<string, Partial<SiteAccess>>) : {};
    const problems = new Problems();
    const result: Record<string, SiteAccess> = {};
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
        result[site] = { kubeconfig: pulumi.secret(entry.kubeconfig), context: entry.context, awsProfile: entry.awsProfile };
    }
    problems.throwIfAny();
    return result;
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

    private ref(site: string): pulumi.StackReference {
        const name = this.stackName(site);
        let ref = this.refs.get(name);
        if (!ref) {
            ref = new pulumi.StackReference(`peer-${site}`, { name });
            this.refs.set(name, ref);
        }
        return ref;
    }

    /** What the peer's stack publishes about its AWS side, if it has been deployed. */
    async awsFacts(site: string): Promise<AwsFacts | undefined> {
        const details = await this.ref(site).getOutputDetails("sites");
        const sites = (details.value ?? details.secretValue) as any;
        return sites?.[site]?.aws;
    }

    facts(plan: Plan, end: EndPlan): pulumi.Output<EndFacts> {
        const name = this.stackName(end.site);
        const ref = this.ref(end.site);
        const bootstrap = endFacts(plan, end);
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
export async function deploy(baseDir = process.cwd()): Promise<Deployment> {
    const config = new pulumi.Config("plumr");
    const topology = parseTopology(config.requireObject("topology"));
    const plan = planTopology(topology, readLocalFiles(topology, baseDir));
    const stale = describeChanges(plan.allocations.changes);
    if (stale) {
        pulumi.log.warn(
            `${topology.allocations} does not record what the links have now (${stale}). Run npm run allocate and commit the file: ` +
                "until then, a later change to the links may renumber these.",
        );
    }
    const managed = managedSites(plan, config.getObject<string[]>("sites"), pulumi.getStack());
    const access = readAccess(managed);
    const peers = new PeerStacks(config);

    const sites: Record<string, Site> = {};
    for (const name of managed) sites[name] = new Site(name, { plan, access: access[name] });
    const routing = await deployAwsRouting(plan, managed, access, peers);

    for (const name of managed) {
        const site = sites[name];
        for (const end of endsAt(plan, name)) {
            const peerEnd = peerOf(plan, end);
            const peerSite = sites[peerEnd.site];
            const peer = peerSite ? peerSite.endpoints.apply((e) => e[end.link]) : peers.facts(plan, peerEnd);
            new Endpoint(`${name}-${end.link}`, { plan, end, site, peerSite: peerEnd.site, peer }, { dependsOn: site.prerequisites });
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
            aws: routing[name]?.facts(),
        });
    }
    const links: Record<string, unknown> = {};
    for (const link of plan.links) {
        links[link.name] = {
            tunnelSubnet: link.tunnelSubnet,
            mtu: link.mtu,
            ends: link.ends.map((end) => ({
                ...endFacts(plan, end),
                deployedBy: managed.includes(end.site) ? pulumi.getStack() : peers.stackName(end.site),
            })),
        };
    }
    return { sites: siteOutputs, links };
}

/**
 * The AWS routing of every managed site with `routing: transitGateway`, and the Transit Gateway
 * peerings between linked sites. A peer in another stack is peered once that stack has published
 * what this side needs (its Transit Gateway, or the requested attachment); until then the run
 * says which stack to deploy first.
 */
async function deployAwsRouting(
    plan: Plan,
    managed: string[],
    access: Record<string, SiteAccess>,
    peers: PeerStacks,
): Promise<Record<string, AwsRouting>> {
    const awsPlans = planAws(plan);
    const routing: Record<string, AwsRouting> = {};
    for (const name of managed) {
        if (awsPlans[name]) routing[name] = new AwsRouting(name, { plan: awsPlans[name], profile: access[name].awsProfile });
    }
    // Requesters first: an accepter in this stack reads the attachment its requester creates.
    for (const role of ["requester", "accepter"] as const) {
        for (const name of Object.keys(routing)) {
            for (const peer of awsPlans[name].peers.filter((p) => p.peering === role)) {
                if (routing[peer.site]) {
                    routing[name].peerWith(peer.site, routing[peer.site].facts());
                    continue;
                }
                const published = await peers.awsFacts(peer.site);
                const ready = role === "requester" ? published?.transitGatewayId : published?.peeringAttachments?.[name];
                if (published && ready) {
                    routing[name].peerWith(peer.site, published);
                } else {
                    const waitingFor = role === "requester" ? "its Transit Gateway" : "the peering attachment it requests";
                    pulumi.log.warn(
                        `site ${name} cannot peer with ${peer.site} yet: stack ${peers.stackName(peer.site)} has not published ${waitingFor}. ` +
                            `Run pulumi up on that stack, then on this one again.`,
                    );
                }
            }
        }
    }
    return routing;
}
