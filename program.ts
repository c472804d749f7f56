import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AwsPeering } from "./components/awsPeering";
import { AwsRouting } from "./components/awsRouting";
import { Endpoint } from "./components/endpoint";
import { ClusterAccess, EndFacts, endFacts, Site } from "./components/site";
import { describeChanges } from "./planner/allocations";
import { peeringStep } from "./planner/aws";
import { ConfigError, Problems, SECRET } from "./planner/errors";
import { readLocalFiles } from "./planner/localFiles";
import { checkClusterNodes, LIST_NODES_SCRIPT, parseClusterNodes } from "./planner/nodes";
import { EndPlan, endsAt, managedSites, peerOf, Plan, planTopology } from "./planner/plan";
import { parseStackSettings, setKubeconfigCommand, setSitesCommands, StackSettings } from "./planner/stackConfig";
import { parseTopology, Topology, TOPOLOGY_KEY } from "./planner/topology";
import { AwsFacts } from "./planner/types";

/** How a stack reaches one site: its cluster, and the AWS profile of its account. */
type SiteAccess = ClusterAccess & {
    awsProfile?: string;
    /** The kubeconfig and context as configured, for reading the cluster's nodes before any change. */
    raw: { kubeconfig: string; context?: string };
};

/**
 * Per-site access of the sites this stack deploys, from `plumr:access`. Every managed site needs a
 * kubeconfig; an entry for any other site is a mistake (a site left out of `plumr:sites`, or a
 * name that is not a site).
 */
function siteAccess(plan: Plan, managed: string[], settings: StackSettings, problems: Problems): Record<string, SiteAccess> {
    const result: Record<string, SiteAccess> = {};
    for (const site of managed) {
        const entry = settings.access[site];
        if (entry?.kubeconfig === undefined) {
            problems.add(
                `plumr:access.${site}.kubeconfig`,
                undefined,
                `this stack deploys site ${site} but has no kubeconfig for its cluster`,
                setKubeconfigCommand(site),
            );
            continue;
        }
        result[site] = {
            // Read raw, so wrap it as the secret it usually is.
            kubeconfig: pulumi.secret(entry.kubeconfig),
            context: entry.context,
            awsProfile: entry.awsProfile,
            raw: { kubeconfig: entry.kubeconfig, context: entry.context },
        };
    }
    for (const site of Object.keys(settings.access)) {
        if (managed.includes(site)) continue;
        const known = Object.hasOwn(plan.sites, site);
        problems.add(
            `plumr:access.${site}`,
            SECRET,
            known
                ? `site ${site} is not one this stack deploys (${managed.join(", ")}), so this access would never be used`
                : `names ${site}, which is not a site of the topology (${Object.keys(plan.sites).join(", ")})`,
            known
                ? `add ${site} to plumr:sites if this stack should deploy it (${setSitesCommands([...managed, site])}), ` +
                      `or remove it: pulumi config rm --path 'plumr:access.${site}'`
                : `correct the site's name, or remove it: pulumi config rm --path 'plumr:access.${site}'`,
        );
    }
    return result;
}

/**
 * Checks `plumr:peerStacks`: each entry must name a site that a site of this stack is linked to and
 * that another stack deploys; anything else would be silently ignored.
 */
function checkPeerStacks(plan: Plan, managed: string[], settings: StackSettings, problems: Problems): void {
    const peers = new Set(managed.flatMap((site) => endsAt(plan, site).map((end) => peerOf(plan, end).site)));
    for (const site of Object.keys(settings.peerStacks)) {
        const field = `plumr:peerStacks.${site}`;
        const remove = `pulumi config rm --path '${field}'`;
        if (!Object.hasOwn(plan.sites, site)) {
            problems.add(
                field,
                settings.peerStacks[site],
                `names ${site}, which is not a site of the topology`,
                `correct the site's name, or remove it: ${remove}`,
            );
        } else if (managed.includes(site)) {
            problems.add(
                field,
                settings.peerStacks[site],
                `site ${site} is deployed by this stack itself, so no other stack's outputs are read for it`,
                `remove it: ${remove}`,
            );
        } else if (!peers.has(site)) {
            problems.add(
                field,
                settings.peerStacks[site],
                `no site of this stack (${managed.join(", ")}) has a link to site ${site}, so this stack is never read`,
                `remove it (${remove}), or add the link to plumr:topology.links`,
            );
        }
    }
}

/** Everything the program needs to deploy, worked out from the configuration and the local files alone. */
export interface Prepared {
    plan: Plan;
    /** The sites this stack deploys. */
    managed: string[];
    access: Record<string, SiteAccess>;
    /** `plumr:peerStacks`: the stack of each peer site, where it is not `<organization>/<project>/<site>`. */
    peerStacks: Record<string, string>;
}

/**
 * Reads and checks the whole configuration (the topology, the stack's own keys and the local
 * files) and plans the deployment. Synchronous and free of any cluster or cloud call, so that a
 * configuration error fails the run at once; throws one ConfigError with every problem found.
 */
export function prepare(baseDir = process.cwd()): Prepared {
    const config = pulumi.runtime.allConfig();
    const problems = new Problems();
    const topologyText = config[TOPOLOGY_KEY];
    let topology: Topology | undefined;
    if (topologyText === undefined) {
        problems.add(
            TOPOLOGY_KEY,
            undefined,
            "required, but missing",
            "add it under config: in Pulumi.yaml (the README's configuration reference shows an example)",
        );
    } else {
        topology = collect(problems, () => parseTopology(parseJsonConfig(topologyText)));
    }
    const settings = parseStackSettings(config, secretConfigKeys(config), topology ? Object.keys(topology.sites) : [], problems);
    const plan = topology && collect(problems, () => planTopology(topology, readLocalFiles(topology, baseDir)));
    const requested = settings.sites;
    const managed = plan && requested !== null ? collect(problems, () => managedSites(plan, requested, pulumi.getStack())) : undefined;
    if (!plan || !managed) {
        problems.throwIfAny();
        throw new Error("the configuration could not be read, but no problem was recorded");
    }
    const access = siteAccess(plan, managed, settings, problems);
    checkPeerStacks(plan, managed, settings, problems);
    problems.throwIfAny();
    const stale = describeChanges(plan.allocations.changes);
    if (stale) {
        pulumi.log.warn(
            `${topology!.allocations} does not record what the links have now (${stale}). Run npm run allocate and commit the file: ` +
                "until then, a later change to the links may renumber these.",
        );
    }
    return { plan, managed, access, peerStacks: settings.peerStacks };
}

/** Runs `fn`, moving the problems of a ConfigError it throws into `problems`. */
function collect<T>(problems: Problems, fn: () => T): T | undefined {
    try {
        return fn();
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.list.push(...err.problems);
        return undefined;
    }
}

/** The topology's JSON text as the engine passes it (Pulumi.yaml holds it as an object, so it is always JSON). */
function parseJsonConfig(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** The configuration keys that were set as secrets. */
function secretConfigKeys(config: Record<string, string>): Set<string> {
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
    return new Set(Object.keys(config).filter((key) => runtimeConfig.isConfigSecret(key)));
}

/** Reads another stack's published sites, one StackReference per peer site. */
class PeerStacks {
    private readonly refs = new Map<string, pulumi.StackReference>();
    private readonly names: Record<string, string>;

    constructor(names: Record<string, string>) {
        this.names = names;
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
 * The whole program: deploy the sites this stack manages and their link ends, as `prepare` planned
 * them. The configuration has been checked by then, so what can still fail is the clusters' nodes
 * not matching the topology (checked before any change) and the clusters and clouds themselves.
 */
export async function deploy(prepared: Prepared): Promise<Deployment> {
    const { plan, managed, access } = prepared;
    const peers = new PeerStacks(prepared.peerStacks);

    // One per site routed by the program: it reads the cluster's nodes now, and runs the AWS CLI later.
    const commands: Record<string, command.Provider> = {};
    for (const name of managed.filter((n) => plan.aws.sites[n])) {
        commands[name] = new command.Provider(
            `${name}-command`,
            {},
            { aliases: [{ parent: pulumi.createUrn(name, "plumr:site:AwsRouting") }] },
        );
    }
    await checkNodes(plan, access, commands);

    const sites: Record<string, Site> = {};
    for (const name of managed) sites[name] = new Site(name, { plan, access: access[name] });
    const awsFacts = await deployAws(plan, managed, access, commands, peers);

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
            aws: awsFacts[name],
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

/** The file `plumr:access.<site>.kubeconfig` names, if it names one rather than holding a kubeconfig (as for the provider). */
function kubeconfigFile(kubeconfig: string): string | undefined {
    if (kubeconfig.includes("\n")) return undefined;
    const file = kubeconfig.startsWith("~") ? path.join(os.homedir(), kubeconfig.slice(1)) : kubeconfig;
    return fs.existsSync(file) ? path.resolve(file) : undefined;
}

/**
 * Compares the nodes the AWS routing uses (every node with an instance id, at sites with routing
 * transitGateway) with their clusters' nodes, before any change: a node pool that replaced an
 * instance would leave routes to a network interface that is gone. Fails with every mismatch.
 */
async function checkNodes(plan: Plan, access: Record<string, SiteAccess>, commands: Record<string, command.Provider>): Promise<void> {
    const problems = new Problems();
    for (const [name, provider] of Object.entries(commands)) {
        const site = plan.aws.sites[name];
        if (site.routedNodes.length === 0) continue;
        const { kubeconfig, context } = access[name].raw;
        let listed: string;
        try {
            const file = kubeconfigFile(kubeconfig);
            const result = await command.local.run(
                {
                    command: LIST_NODES_SCRIPT,
                    stdin: file ? undefined : kubeconfig,
                    environment: { ...(file && { PLUMR_KUBECONFIG_FILE: file }), ...(context && { PLUMR_CONTEXT: context }) },
                    logging: command.types.enums.local.Logging.None,
                },
                { provider },
            );
            listed = result.stdout;
        } catch (err) {
            problems.add(
                `plumr:access.${name}.kubeconfig`,
                "[secret]",
                `could not list site ${name}'s nodes to compare them with the topology: ${err instanceof Error ? err.message : String(err)}`,
                "install kubectl where pulumi runs, and check that this kubeconfig reaches the cluster (kubectl get nodes)",
            );
            continue;
        }
        checkClusterNodes(site, parseClusterNodes(listed), problems);
    }
    problems.throwIfAny();
}

/**
 * The AWS routing of every managed site with `routing: transitGateway`, then the peering of every
 * linked pair that this stack deploys a side of. A side in another stack is read from what that
 * stack publishes: the requester requests once the accepter's Transit Gateway is published, the
 * accepter accepts once the request is, and the requester routes once the acceptance is; until
 * then the run says which stack to deploy next. Returns the facts each managed site publishes.
 */
async function deployAws(
    plan: Plan,
    managed: string[],
    access: Record<string, SiteAccess>,
    commands: Record<string, command.Provider>,
    peers: PeerStacks,
): Promise<Record<string, pulumi.Output<AwsFacts>>> {
    const routing: Record<string, AwsRouting> = {};
    for (const name of managed) {
        const site = plan.aws.sites[name];
        if (site) routing[name] = new AwsRouting(name, { plan: site, profile: access[name].awsProfile, commands: commands[name] });
    }
    const requested: Record<string, Record<string, pulumi.Output<string>>> = {};
    const accepted: Record<string, Record<string, pulumi.Output<string>>> = {};
    for (const name of Object.keys(routing)) [requested[name], accepted[name]] = [{}, {}];

    for (const peering of plan.aws.peerings) {
        const [r, a] = [peering.requester.site, peering.accepter.site];
        if (!routing[r] && !routing[a]) continue;
        const elsewhere = [r, a].find((site) => !routing[site]);
        const step = peeringStep(peering, (site) => site in routing, elsewhere ? await peers.awsFacts(elsewhere) : undefined);
        if (step.waitingFor) {
            pulumi.log.warn(
                `${step.waitingFor.reason}. Run pulumi up on stack ${peers.stackName(step.waitingFor.site)}, then on this one again.`,
            );
        }
        const component = new AwsPeering(`peering-${peering.name}`, {
            plan: peering,
            requester: routing[r],
            accepter: routing[a],
            accepterGateway: step.accepterGateway,
            requestedAttachmentId: step.requestedAttachmentId,
            acceptedAttachmentId: step.acceptedAttachmentId,
        });
        if (component.requestedAttachmentId) requested[r][a] = component.requestedAttachmentId;
        if (component.acceptedAttachmentId) accepted[a][r] = component.acceptedAttachmentId;
    }

    const facts: Record<string, pulumi.Output<AwsFacts>> = {};
    for (const [name, site] of Object.entries(routing)) {
        facts[name] = pulumi.output({
            region: site.region,
            accountId: site.accountId,
            transitGatewayId: site.transitGatewayId,
            peeringAttachments: requested[name],
            acceptedPeerings: accepted[name],
        });
    }
    return facts;
}
