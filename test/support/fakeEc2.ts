// What the program reads of EC2, for the mocks: instances, subnets, VPCs and route tables, each a
// record of its region, answered as the AWS provider's lookups answer (a lookup of one thing finds
// exactly one, or fails with the provider's words). By default it holds what the topology's routed
// sites describe (describeTopology), so that a topology with every id written finds those ids.
import { createHash } from "crypto";

export interface Ec2Instance {
    id: string;
    region: string;
    subnetId: string;
    availabilityZone: string;
    networkInterfaceId: string;
    securityGroupIds: string[];
}

export interface Ec2Subnet {
    id: string;
    region: string;
    vpcId: string;
    availabilityZone: string;
}

export interface Ec2Vpc {
    id: string;
    region: string;
    /** The VPC's CIDR blocks, the first its primary one, each with its association's state. */
    cidrBlocks: { cidrBlock: string; state: string }[];
}

export interface Ec2RouteTable {
    id: string;
    region: string;
    vpcId: string;
    /** Whether it is its VPC's main route table, which routes every subnet no table is associated with. */
    main: boolean;
    /** The subnets explicitly associated with it. */
    subnetIds: string[];
}

/** An id of the form AWS gives, the same for the same key: vpc-0f3a..., 17 hexadecimal digits. */
export function awsId(prefix: string, key: string): string {
    return `${prefix}-0${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

/** The CIDR block of the VPCs the topology does not give one: AWS's default VPC's, outside every bridge range. */
export const DEFAULT_VPC_CIDR = "172.31.0.0/16";

/** What the provider says when a lookup of one `what` finds none, or several. */
function one<T>(found: T[], what: string): T {
    if (found.length === 0) throw new Error(`no matching ${what} found`);
    if (found.length > 1) throw new Error(`multiple ${what}s matched; use additional constraints to reduce matches to a single ${what}`);
    return found[0];
}

export class FakeEc2 {
    readonly instances: Ec2Instance[] = [];
    readonly subnets: Ec2Subnet[] = [];
    readonly vpcs: Ec2Vpc[] = [];
    readonly routeTables: Ec2RouteTable[] = [];
    /** Lookups the credentials may not make, by method name (getSubnet): EC2 answers UnauthorizedOperation. */
    readonly denied = new Set<string>();
    /** What describeTopology added once, by kind and id: a test that takes it away keeps it away. */
    private readonly described = new Set<string>();

    /** `primaryInterface` gives an instance's network interface of device index 0. */
    constructor(private readonly primaryInterface: (instanceId: string) => string) {}

    /** aws.ec2.getInstance by instance id. */
    getInstance(region: string, inputs: { instanceId: string }): Record<string, unknown> {
        this.allowed("getInstance", "DescribeInstances");
        const i = one(
            this.instances.filter((x) => x.region === region && x.id === inputs.instanceId),
            "EC2 Instance",
        );
        return {
            id: i.id,
            subnetId: i.subnetId,
            availabilityZone: i.availabilityZone,
            networkInterfaceId: i.networkInterfaceId,
            vpcSecurityGroupIds: i.securityGroupIds,
        };
    }

    /** aws.ec2.getSubnet by id. */
    getSubnet(region: string, inputs: { id: string }): Record<string, unknown> {
        this.allowed("getSubnet", "DescribeSubnets");
        const s = one(
            this.subnets.filter((x) => x.region === region && x.id === inputs.id),
            "EC2 Subnet",
        );
        return { id: s.id, vpcId: s.vpcId, availabilityZone: s.availabilityZone };
    }

    /** aws.ec2.getVpc by id. */
    getVpc(region: string, inputs: { id: string }): Record<string, unknown> {
        this.allowed("getVpc", "DescribeVpcs");
        const v = one(
            this.vpcs.filter((x) => x.region === region && x.id === inputs.id),
            "EC2 VPC",
        );
        return {
            id: v.id,
            cidrBlock: v.cidrBlocks[0].cidrBlock,
            cidrBlockAssociations: v.cidrBlocks.map((b, i) => ({ associationId: `vpc-cidr-assoc-${i}`, ...b })),
        };
    }

    /** aws.ec2.getRouteTables by filters: `vpc-id`, `association.subnet-id`, `association.main`; any other is refused. */
    getRouteTables(region: string, inputs: { filters?: { name: string; values: string[] }[] }): Record<string, unknown> {
        this.allowed("getRouteTables", "DescribeRouteTables");
        const tests: Record<string, (t: Ec2RouteTable, values: string[]) => boolean> = {
            "vpc-id": (t, values) => values.includes(t.vpcId),
            "association.subnet-id": (t, values) => t.subnetIds.some((s) => values.includes(s)),
            "association.main": (t, values) => values.includes(String(t.main)),
        };
        let found = this.routeTables.filter((t) => t.region === region);
        for (const { name, values } of inputs.filters ?? []) {
            if (!tests[name]) throw new Error(`the fake EC2 knows no route table filter ${name}`);
            found = found.filter((t) => tests[name](t, values));
        }
        return { id: region, ids: found.map((t) => t.id) };
    }

    /**
     * Adds what the topology's sites with routing: transitGateway describe and the inventory lacks:
     * a VPC per site (its written id and CIDR block, or made-up ones), with a main route table; a
     * subnet per zone of the routed nodes, associated with the first written route table (or one
     * of its own); the written attachment subnets with their route tables; and each routed node's
     * instance in its zone's subnet (a pool site's nodes are its cluster's, `poolNodes`, each on the
     * instance of its spec.providerID), with the written security groups (or one of its own). Adds each
     * thing once: what a test took away or changed stays so. Reads a topology of any shape: what is
     * not there is not added.
     */
    describeTopology(topology: any, poolNodes?: (site: string) => { providerId?: string }[]): void {
        const sites = topology?.sites && typeof topology.sites === "object" ? Object.entries<any>(topology.sites) : [];
        for (const [name, site] of sites) {
            const aws = site?.aws;
            if (typeof aws?.region !== "string" || (aws.routing ?? "transitGateway") !== "transitGateway") continue;
            const region: string = aws.region;
            const text = (v: unknown, fallback: string) => (typeof v === "string" ? v : fallback);
            const vpcId = text(aws.vpcId, awsId("vpc", name));
            if (this.once(`vpc ${region} ${vpcId}`)) {
                this.vpcs.push({
                    id: vpcId,
                    region,
                    cidrBlocks: [{ cidrBlock: text(aws.vpcCidr, DEFAULT_VPC_CIDR), state: "associated" }],
                });
                this.routeTables.push({ id: awsId("rtb", `${name}/main`), region, vpcId, main: true, subnetIds: [] });
            }
            const table = (id: string) => this.table(region, vpcId, id);
            for (const s of Array.isArray(aws.attachmentSubnets) ? aws.attachmentSubnets : []) {
                this.subnet(
                    region,
                    vpcId,
                    text(s?.subnetId, ""),
                    text(s?.availabilityZone, `${region}a`),
                    table(text(s?.routeTableId, "")),
                );
            }
            const nodesTable = table(text(Array.isArray(aws.routeTableIds) ? aws.routeTableIds[0] : undefined, awsId("rtb", name)));
            const groups = Array.isArray(aws.securityGroupIds) ? aws.securityGroupIds : [awsId("sg", name)];
            const nodes: { instanceId?: unknown; availabilityZone?: unknown }[] = Array.isArray(site.nodes)
                ? site.nodes
                : site.pool && typeof site.pool === "object" && site.nodes === undefined
                  ? (poolNodes?.(name) ?? []).flatMap((n) => {
                        const [, availabilityZone, instanceId] = /^aws:\/\/\/([^/]+)\/(i-[0-9a-f]+)$/.exec(n.providerId ?? "") ?? [];
                        return instanceId ? [{ instanceId, availabilityZone }] : [];
                    })
                  : [];
            for (const node of nodes) {
                if (typeof node?.instanceId !== "string" || !this.once(`instance ${node.instanceId}`)) continue;
                const zone = text(node.availabilityZone, `${region}a`);
                const subnetId = awsId("subnet", `${name}/${zone}`);
                this.subnet(region, vpcId, subnetId, zone, nodesTable);
                this.instances.push({
                    id: node.instanceId,
                    region,
                    subnetId,
                    availabilityZone: zone,
                    networkInterfaceId: this.primaryInterface(node.instanceId),
                    securityGroupIds: groups,
                });
            }
        }
    }

    /** Throws what the provider says when the credentials may not call `action`. */
    private allowed(lookup: string, action: string): void {
        if (this.denied.has(lookup)) {
            throw new Error(
                `reading EC2: operation error EC2: ${action}, https response error StatusCode: 403, api error UnauthorizedOperation: ` +
                    `You are not authorized to perform this operation.`,
            );
        }
    }

    /** Whether `key` is described for the first time. */
    private once(key: string): boolean {
        if (this.described.has(key)) return false;
        this.described.add(key);
        return true;
    }

    /** The route table `id` of the VPC, added the first time. */
    private table(region: string, vpcId: string, id: string): Ec2RouteTable | undefined {
        if (this.once(`route table ${region} ${id}`)) this.routeTables.push({ id, region, vpcId, main: false, subnetIds: [] });
        return this.routeTables.find((t) => t.region === region && t.id === id);
    }

    /** Subnet `id`, associated with `table`, added the first time. */
    private subnet(region: string, vpcId: string, id: string, availabilityZone: string, table: Ec2RouteTable | undefined): void {
        if (!this.once(`subnet ${region} ${id}`)) return;
        this.subnets.push({ id, region, vpcId, availabilityZone });
        table?.subnetIds.push(id);
    }
}
