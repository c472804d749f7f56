// A model of the AWS state the program changes, for the mocks: shared by the runs of several
// stacks, it keeps what each run created, and refuses what AWS refuses, with AWS's error text.
// What it models: a peering attachment is pendingAcceptance until its accepter exists; a Transit
// Gateway route needs an available attachment, and one accepted in the same run only if it waits
// for the acceptance (the engine runs independent steps at the same time); a route table holds
// one route per destination; an attachment is associated with one route table on each of its
// gateways: AWS associates a VPC attachment (unless told not to) and an accepted peering with the
// gateway's default association table when that is on, and nothing else; an instance's source/destination check cannot be set when it has
// several network interfaces (EKS nodes with the VPC CNI keep a spare one, so instances here have
// two unless told otherwise). What the program reads of EC2 is in `ec2` (fakeEc2.ts).
import { FakeEc2 } from "./fakeEc2";

/** A resource as the engine would have it in a stack's state. */
interface Held {
    stack: string;
    type: string;
    name: string;
    id: string;
    inputs: any;
}

export interface Attachment {
    kind: "vpc" | "peering";
    state: "pendingAcceptance" | "available" | "deleted";
    transitGatewayId: string;
    peerTransitGatewayId?: string;
    /** The accepter resource that accepted it in the run under way, if one did. */
    acceptedNow?: string;
}

/** A Transit Gateway: its route tables, and the one AWS associates new attachments with, if it does. */
export interface Gateway {
    tables: Set<string>;
    /** The default association table; undefined when default route table association is off. */
    associatesWith?: string;
}

export interface NetworkInterface {
    instanceId: string;
    sourceDestCheck: boolean;
}

/** What the mocks API does not pass on about a registration. */
export interface Registration {
    deleteBeforeReplace: boolean;
    /** Names of the resources it depends on, explicitly or through its inputs. */
    dependsOn: string[];
}

const T = {
    transitGateway: "aws:ec2transitgateway/transitGateway:TransitGateway",
    vpcAttachment: "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
    peering: "aws:ec2transitgateway/peeringAttachment:PeeringAttachment",
    accepter: "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter",
    tgwRoute: "aws:ec2transitgateway/route:Route",
    association: "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
    route: "aws:ec2/route:Route",
    command: "command:local:Command",
} as const;

const REPLACED_ON_CHANGE = new Set<string>([T.transitGateway, T.peering, T.accepter]);

export class FakeAws {
    /** What each stack holds, by `<stack>::<type>::<name>`, in the order it was created. */
    private readonly held = new Map<string, Held>();
    readonly transitGateways = new Map<string, Gateway>();
    readonly attachments = new Map<string, Attachment>();
    /** The route table each attachment is associated with on each of its gateways, by `<gateway> <attachment>`. */
    readonly associations = new Map<string, string>();
    /** VPC route tables: destination to target (a network interface or a Transit Gateway). */
    readonly routeTables = new Map<string, Map<string, string>>();
    /** Transit Gateway route tables: destination to attachment. */
    readonly tgwRouteTables = new Map<string, Map<string, string>>();
    readonly instances = new Map<string, string[]>();
    readonly interfaces = new Map<string, NetworkInterface>();
    /** The instances, subnets, VPCs and route tables the program looks up; each instance's primary interface is eni-of-<id>. */
    readonly ec2 = new FakeEc2((instanceId) => this.instance(instanceId)[0]);
    private run?: { stack: string; seen: Set<string>; refused: string[] };
    private generation = 1;

    /** An instance with `count` network interfaces, the first its primary: eni-of-<id>. */
    instance(instanceId: string, count = 2): string[] {
        let enis = this.instances.get(instanceId);
        if (!enis) {
            enis = Array.from({ length: count }, (_, i) => (i === 0 ? `eni-of-${instanceId}` : `eni-${i + 1}-of-${instanceId}`));
            this.instances.set(instanceId, enis);
            for (const eni of enis) this.interfaces.set(eni, { instanceId, sourceDestCheck: true });
        }
        return enis;
    }

    /**
     * A Transit Gateway that exists already, as `transitGatewayId` names one: the one `gateway`
     * says, else one with its default table (`tgw-rtb-of-<id>`) the default association table.
     */
    existingTransitGateway(id: string, gateway?: Gateway): Gateway {
        if (gateway) this.transitGateways.set(id, gateway);
        if (!this.transitGateways.has(id))
            this.transitGateways.set(id, { tables: new Set([`tgw-rtb-of-${id}`]), associatesWith: `tgw-rtb-of-${id}` });
        return this.transitGateways.get(id)!;
    }

    /** The gateway a route table belongs to; undefined when no gateway has it. */
    gatewayOf(routeTableId: string): string | undefined {
        return [...this.transitGateways].find(([, gateway]) => gateway.tables.has(routeTableId))?.[0];
    }

    /**
     * Where the Transit Gateways send `destination` (a route's CIDR block, matched exactly) that
     * enters them from VPC attachment `attachmentId`: each gateway routes by the table its ingress
     * attachment is associated with, and a peering hands it on to the peer gateway. Each hop as
     * `<gateway> <table> -> <attachment>`, ending at a VPC attachment, or with where it is dropped.
     */
    trace(attachmentId: string, destination: string): string[] {
        const hops: string[] = [];
        let [gateway, ingress] = [this.attachments.get(attachmentId)?.transitGatewayId, attachmentId];
        for (let hop = 0; hop < 4; hop++) {
            const table = this.associations.get(`${gateway} ${ingress}`);
            if (!table) return [...hops, `dropped on ${gateway}: ${ingress} is associated with no route table`];
            const next = this.tgwRouteTables.get(table)?.get(destination);
            const attachment = next === undefined ? undefined : this.attachments.get(next);
            if (!next || !attachment || attachment.state !== "available")
                return [...hops, `dropped on ${gateway}: ${table} has no route to ${destination} through an available attachment`];
            hops.push(`${gateway} ${table} -> ${next}`);
            if (attachment.kind === "vpc") return hops;
            [gateway, ingress] = [
                gateway === attachment.transitGatewayId ? attachment.peerTransitGatewayId! : attachment.transitGatewayId,
                next,
            ];
        }
        return [...hops, "loops"];
    }

    beginRun(stack: string): void {
        this.run = { stack, seen: new Set(), refused: [] };
    }

    /**
     * Ends a run: what AWS refused, or else the stack's resources the run no longer registered are
     * deleted, as the engine deletes them after a successful update.
     */
    endRun(): string[] {
        const run = this.run!;
        this.run = undefined;
        for (const attachment of this.attachments.values()) delete attachment.acceptedNow;
        if (run.refused.length > 0) return run.refused;
        for (const held of [...this.held.values()].reverse()) {
            if (held.stack === run.stack && !run.seen.has(key(held))) this.delete(held);
        }
        return [];
    }

    /** `pulumi destroy` of a stack: its resources in the reverse order of their creation. */
    destroy(stack: string): void {
        for (const held of [...this.held.values()].reverse()) if (held.stack === stack) this.delete(held);
    }

    /** Routes to a network interface whose source/destination check drops what it forwards. */
    droppingRoutes(): string[] {
        const dropping: string[] = [];
        for (const [table, routes] of this.routeTables) {
            for (const [destination, target] of routes) {
                if (this.interfaces.get(target)?.sourceDestCheck) dropping.push(`${table} ${destination} -> ${target}`);
            }
        }
        return dropping;
    }

    /** Applies one registration of the current run; returns the resource's id and state, or records AWS's refusal. */
    register(type: string, name: string, inputs: any, options: Registration): { id: string; state: any } {
        const run = this.run!;
        const held: Held = { stack: run.stack, type, name, id: `${name}-id`, inputs };
        run.seen.add(key(held));
        const before = this.held.get(key(held));
        if (before && JSON.stringify(before.inputs) === JSON.stringify(inputs)) {
            return { id: before.id, state: { ...inputs, ...this.outputs(before) } };
        }
        // A changed gateway or attachment is a new one, with a new id; anything else is updated in place.
        if (before) held.id = REPLACED_ON_CHANGE.has(type) ? `${name}-id-${(this.generation += 1)}` : before.id;
        const state = { ...inputs, ...this.outputs(held) };
        const refusal = this.refusal(held, before, options);
        if (refusal) {
            run.refused.push(`${type} ${name}: ${refusal}`);
            return { id: held.id, state };
        }
        // A command's update runs its create command again; anything else goes away first.
        if (before && type !== T.command) this.delete(before);
        this.create(held);
        this.held.set(key(held), held);
        return { id: held.id, state };
    }

    private outputs(held: Held): Record<string, unknown> {
        switch (held.type) {
            case T.transitGateway:
                return { associationDefaultRouteTableId: `tgw-rtb-of-${held.id}` };
            case T.association:
                return { resourceId: "resource-id", resourceType: this.attachments.get(held.inputs.transitGatewayAttachmentId)?.kind };
            case T.accepter:
                return { transitGatewayId: this.attachments.get(held.inputs.transitGatewayAttachmentId)?.peerTransitGatewayId };
            default:
                return {};
        }
    }

    /** What AWS says to this create (or replacement of `before`), if it refuses it. */
    private refusal(held: Held, before: Held | undefined, options: Registration): string | undefined {
        const i = held.inputs;
        switch (held.type) {
            case T.vpcAttachment:
                return this.transitGateways.has(i.transitGatewayId) ? undefined : notFound("Transit Gateway", i.transitGatewayId);
            case T.peering:
                for (const id of [i.transitGatewayId, i.peerTransitGatewayId]) {
                    if (!this.transitGateways.has(id)) return notFound("Transit Gateway", id);
                }
                return undefined;
            case T.accepter: {
                const attachment = this.attachments.get(i.transitGatewayAttachmentId);
                if (!attachment || attachment.state === "deleted")
                    return notFound("Transit Gateway Attachment", i.transitGatewayAttachmentId);
                return attachment.state === "pendingAcceptance"
                    ? undefined
                    : `IncorrectState: ${i.transitGatewayAttachmentId} is in invalid state`;
            }
            case T.association: {
                const refused = this.unavailable(i.transitGatewayAttachmentId, options);
                if (refused) return refused;
                const attachment = this.attachments.get(i.transitGatewayAttachmentId)!;
                const gateway = this.gatewayOf(i.transitGatewayRouteTableId);
                if (!gateway || ![attachment.transitGatewayId, attachment.peerTransitGatewayId].includes(gateway)) {
                    return `InvalidRouteTableID.NotFound: The transitGatewayRouteTable ID '${i.transitGatewayRouteTableId}' does not exist on the attachment's Transit Gateways`;
                }
                const associated = this.associations.get(`${gateway} ${i.transitGatewayAttachmentId}`);
                return associated && !(before && options.deleteBeforeReplace)
                    ? `Resource.AlreadyAssociated: Transit Gateway Attachment ${i.transitGatewayAttachmentId} is already associated to a route table (${associated})`
                    : undefined;
            }
            case T.tgwRoute: {
                const refused = this.unavailable(i.transitGatewayAttachmentId, options);
                if (refused) return refused;
                const table = this.tgwRouteTables.get(i.transitGatewayRouteTableId);
                // A replacement is created before its predecessor is deleted, unless deleteBeforeReplace.
                const replaced = before && options.deleteBeforeReplace;
                if (table?.has(i.destinationCidrBlock) && !replaced) {
                    return `RouteAlreadyExists: Route ${i.destinationCidrBlock} already exists in Transit Gateway Route Table ${i.transitGatewayRouteTableId}`;
                }
                return undefined;
            }
            case T.route: {
                const existing = this.routeTables.get(i.routeTableId)?.get(i.destinationCidrBlock);
                // An update of the same route replaces its target in place (ReplaceRoute).
                if (existing !== undefined && !(before && before.inputs.routeTableId === i.routeTableId)) {
                    return `RouteAlreadyExists: The route identified by ${i.destinationCidrBlock} already exists.`;
                }
                if (i.networkInterfaceId && !this.interfaces.has(i.networkInterfaceId)) {
                    return `InvalidNetworkInterfaceID.NotFound: The networkInterface ID '${i.networkInterfaceId}' does not exist`;
                }
                if (
                    i.transitGatewayId &&
                    ![...this.attachments.values()].some((a) => a.kind === "vpc" && a.transitGatewayId === i.transitGatewayId)
                ) {
                    return `InvalidTransitGatewayID.NotFound: The transitGateway ID '${i.transitGatewayId}' does not exist.`;
                }
                return undefined;
            }
            case T.command:
                return this.execute(i.create, true);
            default:
                return undefined;
        }
    }

    /**
     * Why AWS refuses to route through, or associate, an attachment: gone, not accepted yet, or
     * accepted in this run by a step that nothing orders this one after (the engine runs steps that
     * do not depend on each other at the same time).
     */
    private unavailable(attachmentId: string, options: Registration): string | undefined {
        const attachment = this.attachments.get(attachmentId);
        if (!attachment || attachment.state === "deleted") return notFound("Transit Gateway Attachment", attachmentId);
        if (attachment.state !== "available") return `IncorrectState: ${attachmentId} is in invalid state`;
        if (attachment.acceptedNow && !options.dependsOn.includes(attachment.acceptedNow)) {
            return `IncorrectState: ${attachmentId} is in invalid state (nothing orders this step after ${attachment.acceptedNow})`;
        }
        return undefined;
    }

    /** AWS's own association of an attachment that has just become available on `gateway`, if that gateway associates by default. */
    private associateByDefault(gateway: string, attachmentId: string): void {
        const table = this.transitGateways.get(gateway)?.associatesWith;
        if (table) this.associations.set(`${gateway} ${attachmentId}`, table);
    }

    private create(held: Held): void {
        const i = held.inputs;
        switch (held.type) {
            case T.transitGateway:
                // Created with AWS's defaults: its default table is the default association table.
                this.transitGateways.set(held.id, { tables: new Set([`tgw-rtb-of-${held.id}`]), associatesWith: `tgw-rtb-of-${held.id}` });
                break;
            case T.vpcAttachment:
                this.attachments.set(held.id, { kind: "vpc", state: "available", transitGatewayId: i.transitGatewayId });
                if (i.transitGatewayDefaultRouteTableAssociation !== false) this.associateByDefault(i.transitGatewayId, held.id);
                break;
            case T.peering:
                this.attachments.set(held.id, {
                    kind: "peering",
                    state: "pendingAcceptance",
                    transitGatewayId: i.transitGatewayId,
                    peerTransitGatewayId: i.peerTransitGatewayId,
                });
                break;
            case T.accepter: {
                const attachment = this.attachments.get(i.transitGatewayAttachmentId)!;
                Object.assign(attachment, { state: "available", acceptedNow: held.name });
                this.associateByDefault(attachment.peerTransitGatewayId!, i.transitGatewayAttachmentId);
                break;
            }
            case T.association:
                this.associations.set(
                    `${this.gatewayOf(i.transitGatewayRouteTableId)} ${i.transitGatewayAttachmentId}`,
                    i.transitGatewayRouteTableId,
                );
                break;
            case T.tgwRoute:
                table(this.tgwRouteTables, i.transitGatewayRouteTableId).set(i.destinationCidrBlock, i.transitGatewayAttachmentId);
                break;
            case T.route:
                table(this.routeTables, i.routeTableId).set(i.destinationCidrBlock, i.networkInterfaceId ?? i.transitGatewayId);
                break;
            case T.command:
                this.execute(i.create, false);
                break;
        }
    }

    private delete(held: Held): void {
        const i = held.inputs;
        this.held.delete(key(held));
        switch (held.type) {
            case T.transitGateway:
                this.transitGateways.delete(held.id);
                break;
            case T.vpcAttachment:
            case T.peering:
                this.deleteAttachment(held.id);
                break;
            case T.accepter:
                // Deleting the accepter deletes the attachment it accepted.
                this.deleteAttachment(i.transitGatewayAttachmentId);
                break;
            case T.association:
                this.associations.delete(`${this.gatewayOf(i.transitGatewayRouteTableId)} ${i.transitGatewayAttachmentId}`);
                break;
            case T.tgwRoute:
                this.tgwRouteTables.get(i.transitGatewayRouteTableId)?.delete(i.destinationCidrBlock);
                break;
            case T.route:
                this.routeTables.get(i.routeTableId)?.delete(i.destinationCidrBlock);
                break;
            case T.command:
                if (i.delete) this.execute(i.delete, false);
                break;
        }
    }

    /** An attachment deleted, with its associations. */
    private deleteAttachment(id: string): void {
        const attachment = this.attachments.get(id);
        if (!attachment) return;
        attachment.state = "deleted";
        for (const gateway of [attachment.transitGatewayId, attachment.peerTransitGatewayId]) this.associations.delete(`${gateway} ${id}`);
    }

    /** Runs (or, with `check`, only checks) an AWS CLI command; returns AWS's refusal. */
    private execute(commandLine: string, check: boolean): string | undefined {
        const words = commandLine.split(/\s+/);
        const flag = (name: string) => words[words.indexOf(name) + 1];
        const checkOn = words.includes("--source-dest-check");
        if (!checkOn && !words.includes("--no-source-dest-check")) return `the fake knows no such command: ${commandLine}`;
        let target: NetworkInterface | undefined;
        if (words.includes("modify-instance-attribute")) {
            const instanceId = flag("--instance-id");
            const enis = this.instance(instanceId);
            if (enis.length > 1) {
                return (
                    `An error occurred (InvalidInstanceID) when calling the ModifyInstanceAttribute operation: There are multiple ` +
                    `interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`
                );
            }
            target = this.interfaces.get(enis[0]);
        } else if (words.includes("modify-network-interface-attribute")) {
            const eni = flag("--network-interface-id");
            target = this.interfaces.get(eni);
            if (!target)
                return `An error occurred (InvalidNetworkInterfaceID.NotFound) when calling the ModifyNetworkInterfaceAttribute operation: The networkInterface ID '${eni}' does not exist`;
        } else {
            return `the fake knows no such command: ${commandLine}`;
        }
        if (!check) target!.sourceDestCheck = checkOn;
        return undefined;
    }
}

const key = (held: { stack: string; type: string; name: string }) => `${held.stack}::${held.type}::${held.name}`;

function table<V>(tables: Map<string, Map<string, V>>, id: string): Map<string, V> {
    let found = tables.get(id);
    if (!found) tables.set(id, (found = new Map()));
    return found;
}

const notFound = (what: "Transit Gateway" | "Transit Gateway Attachment", id: string) =>
    `Invalid${what.replace(/ /g, "")}ID.NotFound: ${what} ${id} was deleted or does not exist.`;
