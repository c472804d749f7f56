// A model of the AWS state the program changes, for the mocks: shared by the runs of several
// stacks, it keeps what each run created, and refuses what AWS refuses, with AWS's error text.
// What it models: a peering attachment is pendingAcceptance until its accepter exists; a Transit
// Gateway route needs an available attachment, and one accepted in the same run only if it waits
// for the acceptance (the engine runs independent steps at the same time); a route table holds
// one route per destination; an instance's source/destination check cannot be set when it has
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
    route: "aws:ec2/route:Route",
    command: "command:local:Command",
} as const;

const REPLACED_ON_CHANGE = new Set<string>([T.transitGateway, T.peering, T.accepter]);

export class FakeAws {
    /** What each stack holds, by `<stack>::<type>::<name>`, in the order it was created. */
    private readonly held = new Map<string, Held>();
    readonly transitGateways = new Set<string>();
    readonly attachments = new Map<string, Attachment>();
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

    /** A Transit Gateway that exists already, as `transitGatewayId` names one. */
    existingTransitGateway(id: string): string {
        this.transitGateways.add(id);
        return `tgw-rtb-of-${id}`;
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
            case T.tgwRoute: {
                const attachment = this.attachments.get(i.transitGatewayAttachmentId);
                if (!attachment || attachment.state === "deleted")
                    return notFound("Transit Gateway Attachment", i.transitGatewayAttachmentId);
                if (attachment.state !== "available") return `IncorrectState: ${i.transitGatewayAttachmentId} is in invalid state`;
                // The engine runs steps that do not depend on each other at the same time: a route
                // that does not wait for the acceptance made in this run may come before it.
                if (attachment.acceptedNow && !options.dependsOn.includes(attachment.acceptedNow)) {
                    return `IncorrectState: ${i.transitGatewayAttachmentId} is in invalid state (nothing orders this route after ${attachment.acceptedNow})`;
                }
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

    private create(held: Held): void {
        const i = held.inputs;
        switch (held.type) {
            case T.transitGateway:
                this.transitGateways.add(held.id);
                break;
            case T.vpcAttachment:
                this.attachments.set(held.id, { kind: "vpc", state: "available", transitGatewayId: i.transitGatewayId });
                break;
            case T.peering:
                this.attachments.set(held.id, {
                    kind: "peering",
                    state: "pendingAcceptance",
                    transitGatewayId: i.transitGatewayId,
                    peerTransitGatewayId: i.peerTransitGatewayId,
                });
                break;
            case T.accepter:
                Object.assign(this.attachments.get(i.transitGatewayAttachmentId)!, { state: "available", acceptedNow: held.name });
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
                this.attachments.get(held.id)!.state = "deleted";
                break;
            case T.accepter: {
                // Deleting the accepter deletes the attachment it accepted.
                const attachment = this.attachments.get(i.transitGatewayAttachmentId);
                if (attachment) attachment.state = "deleted";
                break;
            }
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
