// Runs the program under Pulumi's mocks and records every resource it registers.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { LocalFiles } from "../planner/localFiles";
import { deploy } from "../program";

const REPO = path.join(__dirname, "..");

/** The example topology shipped in Pulumi.yaml, as a fresh copy. */
export function exampleTopology(): any {
    const project = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8"));
    return structuredClone(project.config["plumr:topology"].value);
}

/** The local files the planner reads, without touching the disk: the shipped template, stand-in binaries, no allocations. */
export function plannerFiles(overrides: Partial<LocalFiles> = {}): LocalFiles {
    return {
        templatePath: "/project/plumr/config.template.json",
        template: fs.readFileSync(path.join(REPO, "plumr", "config.template.json"), "utf8"),
        binariesDir: "/project/binaries",
        binaries: { plumr: standInBinary("plumr", 3000), shm_printer: standInBinary("shm_printer", 3000) },
        allocationsPath: "/project/plumr/allocations.json",
        ...overrides,
    };
}

/** A resource as the program registered it. */
export interface Registered {
    type: string;
    name: string;
    inputs: any;
    /** Logical name of the provider resource it uses, if any. */
    provider?: string;
    /** Logical names of the resources it depends on (explicitly or through its inputs). */
    dependsOn: string[];
}

// The mocks API does not show a resource's dependencies, so read them off the register request
// the mock monitor receives: they decide the order of destroy.
const dependencies = new Map<string, string[]>();
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const registerResource = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req: any, callback: unknown) {
    dependencies.set(
        `${req.getType()}::${req.getName()}`,
        req.getDependenciesList().map((urn: string) => urn.split("::").pop()),
    );
    return registerResource.call(this, req, callback);
};

export interface RunOptions {
    stack: string;
    topology?: any;
    /** `plumr:sites`; unset means the stack's name. */
    sites?: string[];
    /** `plumr:access`; by default a kubeconfig for every site. */
    access?: Record<string, unknown>;
    peerStacks?: Record<string, string>;
    /** Outputs of other stacks by full name, as a StackReference would read them. */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** Contents of the binaries; by default fixed bytes per name. */
    binaries?: Record<string, Buffer>;
    /** Text of the allocations file (at the topology's `allocations` path); by default the repository's, null for none. */
    allocations?: string | null;
}

export interface RunResult {
    resources: Registered[];
    sites: any;
    links: any;
}

/** Deterministic bytes that gzip cannot shrink (a sha256 stream), as a stand-in binary. */
export function standInBinary(name: string, size = 40_000): Buffer {
    const blocks: Buffer[] = [];
    for (let i = 0; i * 32 < size; i++) blocks.push(createHash("sha256").update(`${name}/${i}`).digest());
    return Buffer.concat(blocks).subarray(0, size);
}

/** A project directory with the example's template, the given binaries and allocations file. */
function projectDir(binaries: Record<string, Buffer>, allocationsPath: string, allocations: string | null): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-test-"));
    fs.mkdirSync(path.join(dir, "binaries"));
    fs.mkdirSync(path.join(dir, "plumr"));
    fs.copyFileSync(path.join(REPO, "plumr", "config.template.json"), path.join(dir, "plumr", "config.template.json"));
    for (const [name, content] of Object.entries(binaries)) fs.writeFileSync(path.join(dir, "binaries", name), content);
    if (allocations !== null) {
        fs.mkdirSync(path.dirname(path.join(dir, allocationsPath)), { recursive: true });
        fs.writeFileSync(path.join(dir, allocationsPath), allocations);
    }
    return dir;
}

function unwrap(value: any): any {
    if (value === null || typeof value !== "object") return value;
    if (value[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrap(value.value);
    if (Array.isArray(value)) return value.map(unwrap);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
}

function resolve<T>(output: pulumi.Output<T> | T): Promise<T> {
    return new Promise((res) => pulumi.output(output).apply((v) => res(v as T)));
}

/** Runs the whole program for one stack under mocks; rejects with the program's error. */
export async function runProgram(options: RunOptions): Promise<RunResult> {
    const topology = options.topology ?? exampleTopology();
    const resources: Registered[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const provider = args.provider?.split("::")[3];
                const inputs = unwrap(args.inputs);
                resources.push({
                    type: args.type,
                    name: args.name,
                    inputs,
                    provider,
                    dependsOn: dependencies.get(`${args.type}::${args.name}`) ?? [],
                });
                if (args.type === "pulumi:pulumi:StackReference") {
                    return {
                        id: inputs.name,
                        state: { name: inputs.name, outputs: options.stackOutputs?.[inputs.name] ?? {}, secretOutputNames: [] },
                    };
                }
                return { id: `${args.name}-id`, state: inputs };
            },
            call(args) {
                switch (args.token) {
                    case "aws:index/getCallerIdentity:getCallerIdentity":
                        return { accountId: `account-of-${args.provider?.split("::")[3]}`, arn: "arn", userId: "user", id: "id" };
                    case "aws:ec2transitgateway/getTransitGateway:getTransitGateway":
                        return { id: args.inputs.id, associationDefaultRouteTableId: `tgw-rtb-of-${args.inputs.id}` };
                    case "aws:ec2/getInstance:getInstance":
                        return { networkInterfaceId: `eni-of-${args.inputs.instanceId}`, instanceId: args.inputs.instanceId };
                    default:
                        throw new Error(`the program made an unexpected call: ${args.token}`);
                }
            },
        },
        "plumr",
        options.stack,
        false,
        "organization",
    );
    const config: Record<string, string> = {
        "plumr:topology": JSON.stringify(topology),
        "plumr:access": JSON.stringify(
            options.access ?? Object.fromEntries(Object.keys(topology.sites ?? {}).map((s) => [s, { kubeconfig: `kubeconfig-of-${s}` }])),
        ),
    };
    if (options.sites) config["plumr:sites"] = JSON.stringify(options.sites);
    if (options.peerStacks) config["plumr:peerStacks"] = JSON.stringify(options.peerStacks);
    pulumi.runtime.setAllConfig(config, ["plumr:access"]);

    const allocationsPath = topology.allocations ?? "plumr/allocations.json";
    const dir = projectDir(
        options.binaries ?? { plumr: standInBinary("plumr"), shm_printer: standInBinary("shm_printer") },
        allocationsPath,
        options.allocations === undefined ? fs.readFileSync(path.join(REPO, "plumr", "allocations.json"), "utf8") : options.allocations,
    );
    try {
        const deployment = await deploy(dir);
        const sites = unwrap(await resolve(pulumi.output(deployment.sites)));
        const links = unwrap(await resolve(pulumi.output(deployment.links)));
        // Resources whose inputs wait on other outputs register late: let every RPC finish.
        await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
        return { resources, sites, links };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The one registered resource of `type` whose logical name is `name`. */
export function find(resources: Registered[], type: string, name: string): Registered {
    const found = resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1)
        throw new Error(
            `expected one ${type} named ${name}, found ${found.length}: ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`,
        );
    return found[0];
}

export const KUBERNETES_PROVIDER = "pulumi:providers:kubernetes";
