import * as path from "path";
import * as a from "./addressing/addresses";
import { Addressing, assignAddressing, parseAllocations } from "./addressing/allocations";
import { checkAws, planAws } from "./aws/aws";
import { checkRanges, ParsedRanges } from "./addressing/ranges";
import { BINARY_NAMES, BinaryPackage, CHUNK_BYTES, CNI_PLUGINS_OF, CniPluginName, packageBinary } from "./files/binaries";
import { ATTACHMENT_INTERFACE } from "./cluster/attachment";
import { Problems, Unique } from "./problems/errors";
import { inspectExecutable } from "./files/executables";
import { LocalFiles, pathKindProblem } from "./files/localFiles";
import { checkTemplateText, PLACEHOLDERS, TemplateValues, unknownPlaceholders } from "./files/template";
import { Addressee, addresseeField, addressees, tunDevice } from "./addressing/endpoints";
import { fieldPath, Topology } from "./topology/schema";
import type { EndPlan, EndpointPlan, LinkPlan, Plan, SitePlan } from "./types";

export type {
    AwsNodePlan,
    AwsPeerPlan,
    AwsPeeringPlan,
    AwsPeeringSide,
    AwsPlan,
    AwsSitePlan,
    EndPlan,
    EndpointPlan,
    LinkPlan,
    NodePlan,
    Plan,
    SitePlan,
} from "./types";

/** Outer IPv4 (20) and UDP (8) headers around every tunnelled packet. */
export const IP_UDP_OVERHEAD = 28;

/** The ends of every link that are in `site`. */
export function endsAt(plan: Plan, site: string): EndPlan[] {
    return plan.links.flatMap((link) => link.ends.filter((end) => end.site === site));
}

/** The endpoints in `site`. */
export function endpointsAt(plan: Plan, site: string): EndpointPlan[] {
    return plan.endpoints.filter((endpoint) => endpoint.site === site);
}

/**
 * Two links of one endpoint whose peers' names give the same tun device: only when two long names
 * share their start and the hash of the rest, which is next to impossible, but never silently.
 */
function checkDevices(endpoints: EndpointPlan[], problems: Problems): void {
    for (const endpoint of endpoints.filter((e) => e.named)) {
        const devices = new Unique(problems, `tun device in endpoint ${endpoint.name}`, "rename one of the two peer endpoints");
        for (const end of endpoint.ends) devices.check(end.device, fieldPath(["endpoints", endpoint.name]), end.device);
    }
}

/** The other end of the link that `end` belongs to (ends are the plan's own objects). */
export function peerOf(plan: Plan, end: EndPlan): EndPlan {
    const link = linksByName(plan).get(end.link);
    if (!link) throw new Error(`no link named ${end.link}`);
    return link.ends[0] === end ? link.ends[1] : link.ends[0];
}

// One index per plan, so that looking up every end's peer stays linear in the number of links.
const linkIndex = new WeakMap<Plan, Map<string, LinkPlan>>();
function linksByName(plan: Plan): Map<string, LinkPlan> {
    let index = linkIndex.get(plan);
    if (!index) linkIndex.set(plan, (index = new Map(plan.links.map((l) => [l.name, l]))));
    return index;
}

/** Interfaces every endpoint pod has besides the tun device: its loopback, its cluster network and its link. */
const POD_INTERFACES = ["lo", "eth0", ATTACHMENT_INTERFACE];

/**
 * Interfaces the nodes of common clusters already have (OVN-Kubernetes on OpenShift, the VPC CNI
 * on EKS, and other common CNIs): a bridge of that name would take over the cluster's own network.
 */
const NODE_INTERFACES = [
    "lo",
    "br-ex",
    "br-int",
    "br-local",
    "ovs-system",
    "ovn-k8s-mp0",
    "genev_sys_6081",
    "vxlan_sys_4789",
    "docker0",
    "cni0",
    "cbr0",
    "kube-ipvs0",
    "kube-bridge",
    "flannel.1",
    "tunl0",
    "vxlan.calico",
    "cilium_host",
    "cilium_net",
    "cilium_vxlan",
    "weave",
];
/** Interface names the kernel or a CNI gives to the nodes' own devices: eth0, ens5, enp0s3, eni1234, veth12ab. */
const NODE_INTERFACE_PATTERN = /^(eth|ens|enp|eno|enx|wlan|bond|team|eni|vlan|veth|cali|lxc|tap|virbr)[0-9a-z]*$/;

function checkSites(topology: Topology, problems: Problems): void {
    const device = topology.tunnel.device;
    if (POD_INTERFACES.includes(device)) {
        problems.add(
            fieldPath(["tunnel", "device"]),
            device,
            `the endpoint pod already has an interface ${device} (${POD_INTERFACES.join(", ")}), so plumr could not create its tun device`,
            "use another name, e.g. tun (the default)",
        );
    }
    for (const [siteName, site] of Object.entries(topology.sites)) {
        if (site.attachment === "bridge" && (NODE_INTERFACES.includes(site.bridgeName) || NODE_INTERFACE_PATTERN.test(site.bridgeName))) {
            problems.add(
                fieldPath(["sites", siteName, "bridgeName"]),
                site.bridgeName,
                "a name the nodes' own interfaces use (their network cards, or the cluster network's bridges and tunnels): " +
                    "the bridge plugin would attach the endpoints to it, or fail on a device that is not a bridge",
                "use a bridge of plumr's own, e.g. br-plumr (the default)",
            );
        }
        if (site.attachment === "macvlan" && site.aws) {
            problems.add(
                fieldPath(["sites", siteName, "attachment"]),
                site.attachment,
                "macvlan does not work on AWS: the VPC drops frames from MAC addresses it did not assign",
                `use attachment: bridge (routed by the node), or remove sites.${siteName}.aws if the site is not on AWS`,
            );
        }
    }
}

/** The allocations file is a file, when there is one (npm run allocate creates it). */
function checkAllocationsFile(files: LocalFiles, problems: Problems, topology: Topology): void {
    const kind = files.kinds?.allocations;
    const problem = kind === "missing" ? undefined : pathKindProblem(kind, files.allocationsPath, "file");
    if (problem) {
        problems.add(
            fieldPath(["allocations"]),
            topology.allocations,
            problem,
            kind === "directory"
                ? `point allocations at a file, e.g. ${path.posix.join(topology.allocations, "allocations.json")} (npm run allocate creates it)`
                : "point allocations at a readable file (npm run allocate creates it when there is none)",
        );
    }
}

function checkTemplate(files: LocalFiles, problems: Problems, topology: Topology): string {
    const field = fieldPath(["configTemplate"]);
    if (files.template === undefined) {
        const kind = files.kinds?.template ?? "missing";
        problems.add(
            field,
            topology.configTemplate,
            pathKindProblem(kind, files.templatePath, "file") ?? `no such file: nothing is at ${files.templatePath}`,
            kind === "directory"
                ? `point configTemplate at the template file itself, e.g. ${path.posix.join(topology.configTemplate, "config.template.json")}`
                : "point configTemplate at your plumr config template (the README explains its placeholders)",
        );
        return "";
    }
    for (const unknown of unknownPlaceholders(files.template)) {
        problems.add(
            field,
            topology.configTemplate,
            `line ${unknown.line} uses the unknown placeholder {{${unknown.name}}}`,
            `use one of ${Object.keys(PLACEHOLDERS)
                .map((p) => `{{${p}}}`)
                .join(", ")}`,
        );
    }
    // Sample values like the plan's: the template must parse with them whatever the addresses are.
    const { port, device, prefixLength, mtu } = topology.tunnel;
    const sample: TemplateValues = {
        LINK: topology.links[0]?.name ?? "ohio-mumbai",
        LOCAL_IP: "10.10.1.200",
        REMOTE_IP: "10.20.1.200",
        LOCAL_PORT: port,
        REMOTE_PORT: port,
        TUN_NAME: device,
        TUN_IP: "10.4.0.1",
        TUN_PREFIX: prefixLength,
        REMOTE_TUN_IP: "10.4.0.2",
        MTU: mtu,
    };
    for (const finding of checkTemplateText(files.template, files.templatePath, sample)) {
        problems.add(field, topology.configTemplate, finding.message, finding.fix);
    }
    return files.template;
}

function packageBinaries(files: LocalFiles, problems: Problems, topology: Topology): BinaryPackage[] {
    const field = fieldPath(["binaries", "dir"]);
    const dirKind = files.kinds?.binariesDir;
    const dirProblem = pathKindProblem(dirKind, files.binariesDir, "directory");
    if (dirProblem) {
        const isBinary = (BINARY_NAMES as readonly string[]).includes(path.basename(files.binariesDir));
        problems.add(
            field,
            topology.binaries.dir,
            `${dirProblem}; binaries.dir is the directory that holds plumr and shm_printer`,
            dirKind === "missing"
                ? `create it (mkdir -p ${files.binariesDir}) and copy the plumr and shm_printer binaries you received from Steinwurf into it, or point binaries.dir at the directory that holds them`
                : isBinary && dirKind === "file"
                  ? `set binaries.dir to ${path.posix.dirname(topology.binaries.dir)}, the directory that holds it`
                  : "point binaries.dir at the directory that holds plumr and shm_printer",
        );
        return [];
    }
    const packages: BinaryPackage[] = [];
    for (const name of BINARY_NAMES) {
        const file = `${files.binariesDir}/${name}`;
        const content = files.binaries[name];
        if (!content) {
            const kind = files.kinds?.binaries[name] ?? "missing";
            problems.add(
                field,
                topology.binaries.dir,
                `the ${name} binary is missing: ${kind === "missing" ? `no file ${file}` : pathKindProblem(kind, file, "file")}`,
                kind === "directory"
                    ? `replace the directory ${file} with the ${name} binary you received from Steinwurf`
                    : `copy the ${name} binary you received from Steinwurf into ${files.binariesDir}`,
            );
            continue;
        }
        const finding = inspectExecutable(content, topology.binaries.architecture, name, file);
        if (finding) {
            problems.add(field, topology.binaries.dir, `${file} ${finding.message}`, finding.fix);
        } else {
            packages.push(packageBinary(name, content, CHUNK_BYTES, files.compress));
        }
    }
    return packages;
}

/** The CNI plugins the sites' attachments need, in the order of CNI_PLUGINS_OF. */
function neededCniPlugins(topology: Topology): CniPluginName[] {
    const attachments = new Set(Object.values(topology.sites).map((site) => site.attachment));
    return [...new Set([...attachments].flatMap((attachment) => CNI_PLUGINS_OF[attachment]))];
}

/** The CNI plugins of binaries.cniPlugins that the attachments need, checked like the binaries. */
function packageCniPlugins(files: LocalFiles, problems: Problems, topology: Topology): BinaryPackage[] {
    const dir = files.cniPluginsDir;
    if (topology.binaries.cniPlugins === undefined || dir === undefined) return [];
    const field = fieldPath(["binaries", "cniPlugins"]);
    const dirProblem = pathKindProblem(files.kinds?.cniPluginsDir, dir, "directory");
    const needed = neededCniPlugins(topology);
    if (dirProblem) {
        problems.add(
            field,
            topology.binaries.cniPlugins,
            `${dirProblem}; binaries.cniPlugins is the directory that holds the CNI plugins ${needed.join(", ")}`,
            `put the ${needed.join(", ")} plugins of a containernetworking/plugins release (github.com/containernetworking/plugins/releases, cni-plugins-linux-${topology.binaries.architecture}) into ${dir}, or remove binaries.cniPlugins when every node has them`,
        );
        return [];
    }
    const packages: BinaryPackage[] = [];
    for (const name of needed) {
        const file = `${dir}/${name}`;
        const content = files.cniPlugins?.[name];
        if (!content) {
            const kind = files.kinds?.cniPlugins?.[name] ?? "missing";
            problems.add(
                field,
                topology.binaries.cniPlugins,
                `the ${name} CNI plugin is missing: ${kind === "missing" ? `no file ${file}` : pathKindProblem(kind, file, "file")}`,
                `copy ${name} from a containernetworking/plugins release (cni-plugins-linux-${topology.binaries.architecture}) into ${dir}`,
            );
            continue;
        }
        const finding = inspectExecutable(content, topology.binaries.architecture, `${name} CNI plugin`, file);
        if (finding) problems.add(field, topology.binaries.cniPlugins, `${file} ${finding.message}`, finding.fix);
        else packages.push(packageBinary(name, content, CHUNK_BYTES, files.compress));
    }
    return packages;
}

/** Checks an endpoint's site and node; returns the node's range when both are known. */
function resolveEndpoint(topology: Topology, parsed: ParsedRanges, endpoint: Addressee, problems: Problems): a.Cidr | undefined {
    const site = Object.hasOwn(topology.sites, endpoint.site) ? topology.sites[endpoint.site] : undefined;
    if (!site) {
        const known = Object.keys(topology.sites).join(", ");
        problems.add(addresseeField(endpoint, "site"), endpoint.site, "no such site", `use one of the sites defined under sites: ${known}`);
        return undefined;
    }
    if (!site.nodes.some((n) => n.name === endpoint.node)) {
        const known = site.nodes.map((n) => n.name).join(", ");
        problems.add(
            addresseeField(endpoint, "node"),
            endpoint.node,
            `not a node of site ${endpoint.site}`,
            `use one of ${known}, or add the node to sites.${endpoint.site}.nodes`,
        );
        return undefined;
    }
    return parsed.node[endpoint.site][endpoint.node];
}

function parsePool(topology: Topology, problems: Problems): a.Cidr | undefined {
    const pool = a.parseCidr(topology.tunnel.pool);
    if ("cidr" in pool) return pool.cidr;
    problems.add(fieldPath(["tunnel", "pool"]), topology.tunnel.pool, pool.error, pool.fix);
    return undefined;
}

/** Names whose Kubernetes objects would be taken for the site's own: the node agent's (once the installer's) and the entrypoint's. */
const RESERVED_NAMES = ["node-agent", "installer", "entrypoint"];

/** Checks the links and endpoints: names, ends, explicit addresses, and that the tunnel pool can hold them all. */
function checkLinks(topology: Topology, parsed: ParsedRanges, pool: a.Cidr | undefined, problems: Problems): void {
    const capacity = pool ? a.subnetCount(pool, topology.tunnel.prefixLength) : Infinity;
    if (topology.links.length > capacity) {
        problems.add(
            fieldPath(["tunnel", "pool"]),
            topology.tunnel.pool,
            `the tunnel pool is exhausted: ${topology.links.length} links need ${topology.links.length} /${topology.tunnel.prefixLength} subnets, the pool holds ${capacity}`,
            "widen the pool (e.g. a /24 holds 64 links at /30) or use prefixLength 31",
        );
    }
    const names = new Unique(problems, "link name", "give every link its own name");
    /** Link names given twice: already a problem, which their ends' resource names would only repeat. */
    const repeated = new Set<string>();
    const pairs = new Unique(problems, "pair of endpoints", "join two endpoints by one link; a link carries any traffic between them");
    topology.links.forEach((link, li) => {
        const linkField = fieldPath(["links", li]);
        if (!names.check(link.name, `${linkField}.name`)) repeated.add(link.name);
        if (RESERVED_NAMES.includes(link.name)) {
            problems.add(
                `${linkField}.name`,
                link.name,
                `its objects (plumr-${link.name}) would read as the site's own plumr-${link.name}`,
                `rename it, e.g. ${link.name}-link`,
            );
        }
        const [x, y] = link.ends;
        if (x.endpoint !== undefined && y.endpoint !== undefined) {
            if (x.endpoint === y.endpoint) {
                problems.add(
                    `${linkField}.endpoints`,
                    link.endpoints,
                    "joins an endpoint to itself",
                    "a link joins two endpoints in two different sites",
                );
                return;
            }
            pairs.check([x.endpoint, y.endpoint].sort().join(" and "), `${linkField}.endpoints`, link.endpoints);
        }
        if (x.site === y.site) {
            const field = x.endpoint === undefined ? `${linkField}.ends` : `${linkField}.endpoints`;
            problems.add(
                field,
                x.endpoint === undefined ? link.ends.map((e) => e.site) : link.endpoints,
                `both ${x.endpoint === undefined ? "ends" : "endpoints"} are in the same site, ${x.site}`,
                "a link joins two different sites",
            );
        }
    });

    // The objects of an endpoint are named plumr-<name> in its site's namespace, and a stack names
    // its resources <site>-<name>: site a-b with endpoint c and site a with endpoint b-c would clash.
    const resourceNames = new Unique(
        problems,
        "resource name (<site>-<endpoint or link>)",
        "rename one of the two endpoints, links (or sites)",
    );
    for (const endpoint of addressees(topology)) {
        const field = fieldPath(endpoint.field);
        if (endpoint.named) {
            if (RESERVED_NAMES.includes(endpoint.name)) {
                problems.add(
                    field,
                    endpoint.name,
                    `its objects (plumr-${endpoint.name}) would read as the site's own plumr-${endpoint.name}`,
                    `rename it, e.g. ${endpoint.name}-1`,
                );
            }
            if (endpoint.ends.length === 0) {
                problems.add(
                    field,
                    endpoint.name,
                    "no link names it, so it would deploy nothing",
                    `add a link with endpoints: [${endpoint.name}, <another endpoint>], or remove it`,
                );
            }
        } else if (endpoint.ends[0].end === 0 && Object.hasOwn(topology.endpoints, endpoint.name)) {
            problems.add(
                fieldPath(["links", endpoint.ends[0].link, "name"]),
                endpoint.name,
                `the objects of its ends would be named like endpoint ${endpoint.name}'s (plumr-${endpoint.name})`,
                "rename the link or the endpoint",
            );
        }
        if (endpoint.named || !repeated.has(endpoint.name))
            resourceNames.check(`${endpoint.site}-${endpoint.name}`, addresseeField(endpoint, "site"), endpoint.site);

        const range = resolveEndpoint(topology, parsed, endpoint, problems);
        if (!range || endpoint.address === undefined) continue;
        const addressField = addresseeField(endpoint, "address");
        const address = a.parseIp(endpoint.address);
        const rangeText = a.formatCidr(range);
        const hosts = `pick a host address between ${a.formatIp(a.gateway(range) + 1)} and ${a.formatIp(a.broadcast(range) - 1)}`;
        if (address === undefined) {
            problems.add(addressField, endpoint.address, "not an IPv4 address", `write it as a.b.c.d inside ${rangeText}`);
        } else if (!a.contains(range, address)) {
            problems.add(
                addressField,
                endpoint.address,
                `outside node ${endpoint.node}'s range ${rangeText}`,
                `pick an address inside ${rangeText}, or pin the ${endpoint.named ? "endpoint" : "end"} to the node whose range holds it`,
            );
        } else if (address === range.network || address === a.broadcast(range)) {
            problems.add(
                addressField,
                endpoint.address,
                `the ${address === range.network ? "network" : "broadcast"} address of ${rangeText}`,
                hosts,
            );
        } else if (address === a.gateway(range)) {
            problems.add(addressField, endpoint.address, `the gateway address of ${rangeText} (the node's bridge has it)`, hosts);
        }
    }
}

/**
 * The addressing of every link (tunnel subnet, port, end addresses) without deploying anything:
 * what `npm run allocate` records. Needs only the topology and the allocations file's text.
 */
export function planAllocations(topology: Topology, allocationsText: string | undefined): Addressing {
    const problems = new Problems();
    const pool = parsePool(topology, problems);
    const parsed = checkRanges(topology, problems, pool);
    checkLinks(topology, parsed, pool, problems);
    const recorded = parseAllocations(allocationsText, topology, problems);
    problems.throwIfAny();
    return assignAddressing(topology, pool!, parsed.node, recorded, problems);
}

/**
 * Validates the topology against the local files and computes everything the deployment needs.
 * Throws one ConfigError listing every problem (field, value, fix); registers no resource.
 */
export function planTopology(topology: Topology, files: LocalFiles): Plan {
    const problems = new Problems();
    const pool = parsePool(topology, problems);
    const parsed = checkRanges(topology, problems, pool);
    checkSites(topology, problems);
    checkAws(topology, parsed.site, problems);
    checkAllocationsFile(files, problems, topology);
    const template = checkTemplate(files, problems, topology);
    const packages = packageBinaries(files, problems, topology);
    const cniPackages = packageCniPlugins(files, problems, topology);

    const maxMtu = topology.tunnel.underlayMtu - IP_UDP_OVERHEAD - topology.tunnel.protocolOverhead;
    if (topology.tunnel.mtu > maxMtu) {
        problems.add(
            fieldPath(["tunnel", "mtu"]),
            topology.tunnel.mtu,
            `larger than the underlay allows: ${topology.tunnel.underlayMtu} (underlayMtu) - ${IP_UDP_OVERHEAD} (IPv4 + UDP) - ${topology.tunnel.protocolOverhead} (protocolOverhead) = ${maxMtu}`,
            `set tunnel.mtu to ${maxMtu} or less`,
        );
    }
    checkLinks(topology, parsed, pool, problems);
    const recorded = parseAllocations(files.allocations, topology, problems);
    problems.throwIfAny();
    const addressing = assignAddressing(topology, pool!, parsed.node, recorded, problems);

    const endpoints = addressees(topology);
    const links: LinkPlan[] = topology.links.map((link, li) => {
        const { tunnelSubnet, port, addresses } = addressing.links[li];
        const firstTunnelHost = topology.tunnel.prefixLength === 31 ? tunnelSubnet.network : tunnelSubnet.network + 1;
        const ends = link.ends.map((end, ei): EndPlan => {
            const range = parsed.node[end.site][end.node];
            const peer = link.ends[1 - ei];
            const otherNodes = topology.sites[end.site].nodes.filter((n) => n.name !== end.node).map((n) => n.range);
            return {
                link: link.name,
                site: end.site,
                node: end.node,
                ...(end.endpoint !== undefined && { endpoint: end.endpoint }),
                device: peer.endpoint === undefined ? topology.tunnel.device : tunDevice(peer.endpoint),
                address: a.formatIp(addresses[ei]),
                prefixLength: range.prefixLength,
                gateway: a.formatIp(a.gateway(range)),
                tunnelIp: a.formatIp(firstTunnelHost + ei),
                tunnelPrefixLength: topology.tunnel.prefixLength,
                port,
                routes: [...otherNodes, topology.sites[peer.site].bridgeRange],
            };
        }) as [EndPlan, EndPlan];
        return { name: link.name, tunnelSubnet: a.formatCidr(tunnelSubnet), mtu: topology.tunnel.mtu, ends };
    });
    const endpointPlans = endpoints
        .filter((endpoint) => endpoint.ends.length > 0)
        .map((endpoint): EndpointPlan => {
            const ends = endpoint.ends.map(({ link, end }) => links[link].ends[end]);
            const [first] = ends;
            return {
                name: endpoint.name,
                named: endpoint.named,
                site: endpoint.site,
                node: endpoint.node,
                address: first.address,
                prefixLength: first.prefixLength,
                gateway: first.gateway,
                routes: [...new Set(ends.flatMap((end) => end.routes))],
                workload: (endpoint.named && topology.endpoints[endpoint.name].workload) || topology.sites[endpoint.site].workload,
                ends,
            };
        });
    checkDevices(endpointPlans, problems);
    problems.throwIfAny();

    const sites: Record<string, SitePlan> = {};
    for (const [name, config] of Object.entries(topology.sites)) {
        const nodes = config.nodes.map((n) => ({
            name: n.name,
            range: n.range,
            gateway: a.formatIp(a.gateway(parsed.node[name][n.name])),
        }));
        sites[name] = {
            name,
            config,
            nodes,
            sidecarImage: config.sidecarImage ?? config.workload.image,
            cniBinDir: config.cniBinDir ?? (config.platform === "openshift" ? "/var/lib/cni/bin" : "/opt/cni/bin"),
            cniPlugins: [...CNI_PLUGINS_OF[config.attachment]],
        };
    }
    return {
        tunnel: topology.tunnel,
        binaries: { ...topology.binaries, packages, cniPackages },
        template,
        sites,
        links,
        endpoints: endpointPlans,
        aws: planAws(topology, links),
        allocations: { path: files.allocationsPath, record: addressing.record, changes: addressing.changes },
    };
}

/**
 * The sites a stack manages: `plumr:sites` when set, else the stack's own name. Unknown names
 * are a ConfigError.
 */
export function managedSites(plan: Plan, requested: string[] | undefined, stack: string): string[] {
    const names = requested ?? [stack];
    const problems = new Problems();
    const known = Object.keys(plan.sites);
    if (names.length === 0) problems.add("plumr:sites", names, "no site to manage", `name at least one of ${known.join(", ")}`);
    const listed = new Unique(problems, "site", "list each site once");
    names.forEach((name, i) => requested && listed.check(name, `plumr:sites[${i}]`));
    for (const name of names) {
        if (!Object.hasOwn(plan.sites, name)) {
            problems.add(
                "plumr:sites",
                requested ?? undefined,
                requested
                    ? `names ${name}, which is not a site of the topology`
                    : `not set, and the stack's name ${stack} is not a site of the topology`,
                `set it to the sites this stack deploys, e.g. pulumi config set --path 'plumr:sites[0]' ${known[0] ?? "ohio"} (known: ${known.join(", ")})`,
            );
        }
    }
    problems.throwIfAny();
    return names;
}
