// What the planner computes: the plan every component is built from. Types only, so that the
// planner's modules (plan.ts, aws.ts, ...) and the components share them without importing each other.
import type { AllocationChanges, Allocations } from "./addressing/allocations";
import type { BinaryPackage, CniPluginName } from "./files/binaries";
import type { PlacedSite, PlacedTopology, WorkloadConfig } from "./topology/schema";

export interface NodePlan {
    /** `kubernetes.io/hostname` of the node. */
    name: string;
    /** The node's bridge range, e.g. 10.10.1.0/24. */
    range: string;
    /** The address the node's bridge answers on, the endpoints' next hop: the range's first host. */
    gateway: string;
}

/** Everything one end of a link needs, fully computed. */
export interface EndPlan {
    link: string;
    site: string;
    node: string;
    /** The endpoint under `endpoints` this end is; undefined for an end written in the link. */
    endpoint?: string;
    /** The tun device of this end's plumr: tunnel.device, or `tun-<peer endpoint>` in a named endpoint. */
    device: string;
    /** Underlay address on the pod's second interface (net1). */
    address: string;
    /** Prefix length of `address`: the node range's. */
    prefixLength: number;
    /** Next hop for `routes`. */
    gateway: string;
    /** Address of the tun device. */
    tunnelIp: string;
    tunnelPrefixLength: number;
    /** UDP port plumr listens on. */
    port: number;
    /** Destinations routed through net1: the site's other node ranges (a pool's: its whole bridge range) and the peer site's range. */
    routes: string[];
}

/**
 * One pod: its underlay address and routes, its workload, and its link ends, one plumr each. An end
 * written in a link is an endpoint of its own, named after the link.
 */
export interface EndpointPlan {
    /** Name of its objects (`plumr-<name>`): the endpoint's name, or the link's for an end written in the link. */
    name: string;
    /** Whether it is named under `endpoints`: it then runs one plumr per link and finds its peers by name. */
    named: boolean;
    site: string;
    node: string;
    /** Underlay address on the pod's second interface (net1), shared by its links. */
    address: string;
    /** Prefix length of `address`: the node range's. */
    prefixLength: number;
    /** Next hop for `routes`. */
    gateway: string;
    /** Destinations routed through net1: the site's other node ranges (a pool's: its whole bridge range) and the peer sites' ranges. */
    routes: string[];
    /** The workload container: the endpoint's own, else its site's. */
    workload: WorkloadConfig;
    /** Its link ends, in the topology's order of links. */
    ends: EndPlan[];
}

export interface LinkPlan {
    name: string;
    /** The tunnel subnet of this link, e.g. 10.4.0.0/30. */
    tunnelSubnet: string;
    mtu: number;
    ends: [EndPlan, EndPlan];
}

export interface SitePlan {
    name: string;
    config: PlacedSite;
    nodes: NodePlan[];
    /** Image of the plumr sidecar and metrics containers. */
    sidecarImage: string;
    /** Where the cluster's Multus finds CNI plugins on the site's nodes. */
    cniBinDir: string;
    /** The CNI plugins the site's attachment needs there. */
    cniPlugins: CniPluginName[];
}

/** A node whose range the site's AWS routing carries. */
export interface AwsNodePlan {
    node: string;
    /** Index of the node in `sites.<site>.nodes`, for messages that name its fields. */
    index: number;
    range: string;
    instanceId: string;
    /** The node's availability zone, when the topology gives it. */
    availabilityZone?: string;
    /** The slot of its site's pool the node holds, when it is a pool's: its instance is then the cluster's own. */
    slot?: number;
    /** Whether the node hosts a link end: its zone then needs a subnet of the Transit Gateway's VPC attachment. */
    hostsEnd: boolean;
}

/** A routed node with what AWS says of its instance. */
export interface AwsRoutedNode extends AwsNodePlan {
    /** The instance's zone. */
    availabilityZone: string;
    /** The instance's primary network interface (device 0): the node's range is routed to it. */
    networkInterfaceId: string;
}

/** A site this one links to, as its AWS routing sees it. */
export interface AwsPeerPlan {
    site: string;
    /** The peer's bridge range: routed to the Transit Gateway, and allowed ICMP in the security groups. */
    range: string;
    /** The links between the two sites: each opens its port to its peer end's address only. */
    links: { link: string; port: number; peerAddress: string }[];
    /**
     * This site's side of the Transit Gateway peering: the site whose name sorts first requests it,
     * the other accepts. Undefined when the peer's routing is not `transitGateway`.
     */
    peering?: "requester" | "accepter";
}

/** The ids of a site's `aws` block, as written: each one written is a pin on what is found in AWS. */
export type AwsPins = Pick<
    NonNullable<PlacedSite["aws"]>,
    "vpcId" | "vpcCidr" | "routeTableIds" | "attachmentSubnets" | "securityGroupIds" | "transitGatewayRouteTableId"
>;

/**
 * What the topology decides of one site's AWS side. The rest (the VPC, the route tables, the
 * attachment subnets, the security groups, the nodes' network interfaces) is found in AWS at deploy
 * time, unless pinned, and resolved into an AwsSitePlan (planner/aws/discovery.ts).
 */
export interface AwsSiteIntent {
    site: string;
    region: string;
    asn: number;
    /** An existing Transit Gateway to use; the program creates one when this is undefined. */
    existingTransitGatewayId?: string;
    bridgeRange: string;
    /**
     * Every node with an instance id: its range is routed to its instance's primary network
     * interface, and that interface's source/destination check is off. One set, so that no route
     * ends at an interface that drops what it forwards.
     */
    routedNodes: AwsNodePlan[];
    peers: AwsPeerPlan[];
    pins: AwsPins;
}

/** What the program changes in one site's AWS account: its intent, with what was found in AWS. */
export interface AwsSitePlan extends Omit<AwsSiteIntent, "routedNodes" | "pins" | "existingTransitGatewayId"> {
    vpcId: string;
    /**
     * An existing Transit Gateway to use; the program creates one, and uses its default route
     * table, when this is undefined.
     */
    existingTransitGateway?: {
        id: string;
        /** The route table the site's attachments are associated with, where its routes go. */
        routeTableId: string;
        /** Whether AWS associates new attachments with that table by itself: it is the gateway's default association table. */
        associatesByDefault: boolean;
    };
    /** Subnets of the Transit Gateway's VPC attachment, one per availability zone. */
    attachmentSubnetIds: string[];
    /**
     * Route tables that get every routed node's range: the nodes' subnets' and the attachment
     * subnets', each once. Traffic from the Transit Gateway enters the VPC in an attachment subnet
     * and is routed by that subnet's table.
     */
    nodeRouteTableIds: string[];
    /** Route tables that send the linked sites' ranges to the Transit Gateway: the nodes' subnets'. */
    peerRouteTableIds: string[];
    securityGroupIds: string[];
    routedNodes: AwsRoutedNode[];
}

/**
 * The AWS ids a site's plan uses, as its `aws` block writes them: each one found in AWS, or as
 * written. Written into the block, they pin the site to what was found (npm run discover prints
 * them). The route table of an existing Transit Gateway only where the site names one.
 */
export type AwsSiteIds = Required<Pick<AwsPins, "vpcId" | "vpcCidr" | "routeTableIds" | "attachmentSubnets" | "securityGroupIds">> &
    Pick<AwsPins, "transitGatewayRouteTableId">;

/** One side of a Transit Gateway peering. */
export interface AwsPeeringSide {
    site: string;
    region: string;
    /** The site's bridge range: the other side routes it through the peering. */
    range: string;
}

/** The Transit Gateway peering between two linked sites whose routing is `transitGateway`. */
export interface AwsPeeringPlan {
    /** `<requester>-<accepter>`, unique per pair. */
    name: string;
    /** The site whose name sorts first: it requests the peering attachment. */
    requester: AwsPeeringSide;
    /** The other site: it accepts the attachment. */
    accepter: AwsPeeringSide;
}

/** What a site's stack publishes about its AWS side (`sites.<site>.aws`), for the stacks of its peers. */
export interface AwsFacts {
    region: string;
    accountId: string;
    transitGatewayId: string;
    /** Peering attachments this site requested, keyed by the accepting site. */
    peeringAttachments: Record<string, string>;
    /**
     * Peering attachments this site accepted, keyed by the requesting site. The acceptance completes
     * when an attachment is `available`, and AWS routes through no other, so a requester routes
     * through its attachment only once it is published here.
     */
    acceptedPeerings: Record<string, string>;
}

/** What a stack does for one peering, from the sides it deploys and what the other side's stack published. */
export interface AwsPeeringStep {
    /** The accepter's Transit Gateway, from its stack: the requester requests a peering with it. */
    accepterGateway?: Pick<AwsFacts, "region" | "accountId" | "transitGatewayId">;
    /** The attachment the requester's stack requested: the accepter accepts it. */
    requestedAttachmentId?: string;
    /** The attachment the accepter's stack accepted: the requester routes through it. */
    acceptedAttachmentId?: string;
    /** What this stack waits for, when it does: the site whose stack must run first, and why. */
    waitingFor?: { site: string; reason: string };
}

/** The AWS changes of the whole topology. */
export interface AwsPlan {
    /** Every site whose routing is `transitGateway`, keyed by site: what is decided before AWS is read. */
    sites: Record<string, AwsSiteIntent>;
    /** Every pair of linked `transitGateway` sites, sorted by name. */
    peerings: AwsPeeringPlan[];
}

/** The validated topology with every address, route and package computed. */
export interface Plan {
    tunnel: PlacedTopology["tunnel"];
    /** The binaries: plumr and shm_printer, and the CNI plugins of binaries.cniPlugins the attachments need. */
    binaries: PlacedTopology["binaries"] & { packages: BinaryPackage[]; cniPackages: BinaryPackage[] };
    /** The plumr config template's text. */
    template: string;
    sites: Record<string, SitePlan>;
    links: LinkPlan[];
    /** Every endpoint: those named under `endpoints`, then one per link end written in a link. */
    endpoints: EndpointPlan[];
    /** What the program changes in AWS. */
    aws: AwsPlan;
    /** The allocations file: where it is, what it must say now, and how what it says differs. */
    allocations: { path: string; record: Allocations; changes: AllocationChanges };
    /**
     * The pool sites placed before their clusters were read: their nodes are the ones the allocations
     * file records. A stack makes its plan again once it has read the clusters of the sites it deploys.
     */
    provisional: string[];
}
