// Runs the program under Pulumi's mocks and records every resource it registers.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { environmentAllocations, environmentFile, ENVIRONMENTS_DIR, mergeEnvironment } from "../../planner/environments/environments";
import { LocalFiles } from "../../planner/files/localFiles";
import { ConfigError, Problem } from "../../planner/problems/errors";
import { ClusterFacts, ClusterNode } from "../../planner/cluster/facts";
import { deploy } from "../../program/deploy";
import type { EndpointPodArgs } from "../../components/endpoint";
import { sha256sums } from "../../planner/files/binaries";
import { endpointsAt } from "../../planner/plan";
import type { Plan } from "../../planner/types";
import { ClusterQuestions, kubeconfigFile, readClusters } from "../../program/clusterReader";
import { clusterProviders } from "../../program/clusterProviders";
import { prepare } from "../../program/prepare";
import { FakeAws } from "./fakeAws";
import { exampleFile, readTopologyFile } from "../../lib/topologyFile";
import { INVENTORY, POOL_LABEL, providerId, ZONE_LABEL } from "../../dev/local/clusterSpecs";

export { FakeAws } from "./fakeAws";

const REPO = path.join(__dirname, "..", "..");

/**
 * The two-site topology with every node pinned (examples/pinned: the original demo, as Pulumi.yaml
 * wrote it before its sites became pools), as a fresh copy: the topology most tests change.
 */
export function exampleTopology(): any {
    return readTopologyFile(exampleFile("pinned"));
}

/**
 * A copy of `topology` whose sites write no AWS id that the program can find in AWS: their aws
 * blocks keep only what a user decides (region, routing, the Transit Gateway to use and its ASN).
 */
export function withoutAwsIds(topology: any): any {
    const copy = structuredClone(topology);
    for (const site of Object.values<any>(copy.sites)) {
        if (!site.aws) continue;
        const { region, routing, transitGatewayId, transitGatewayAsn } = site.aws;
        site.aws = { region, routing, transitGatewayId, transitGatewayAsn };
        for (const key of Object.keys(site.aws)) if (site.aws[key] === undefined) delete site.aws[key];
    }
    return copy;
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

// The mocks API does not show a resource's dependencies or deleteBeforeReplace, so read them off
// the register request the mock monitor receives: they decide the order of destroy and replacement.
const dependencies = new Map<string, string[]>();
const deleteBeforeReplace = new Set<string>();
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const registerResource = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req: any, callback: unknown) {
    const key = `${req.getType()}::${req.getName()}`;
    dependencies.set(
        key,
        req.getDependenciesList().map((urn: string) => urn.split("::").pop()),
    );
    if (req.getDeletebeforereplace()) deleteBeforeReplace.add(key);
    else deleteBeforeReplace.delete(key);
    return registerResource.call(this, req, callback);
};

export interface RunOptions {
    stack: string;
    topology?: any;
    /** `plumr:sites`; unset means the stack's name. */
    sites?: string[];
    /** `plumr:access`; by default a kubeconfig for every site the stack deploys. */
    access?: Record<string, unknown>;
    peerStacks?: Record<string, string>;
    /** Outputs of other stacks by full name, as a StackReference would read them. */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** Contents of the binaries; by default fixed bytes per name. */
    binaries?: Record<string, Buffer>;
    /** Text of the allocations file (at the topology's `allocations` path); by default the repository's file there, null for none. */
    allocations?: string | null;
    /** The AWS accounts the stacks share; by default a fresh one per run. Either way, it holds what the topology describes (FakeEc2.describeTopology). */
    aws?: FakeAws;
    /** Receives every resource as it is registered, so that a run that fails still shows what it registered. */
    registered?: Registered[];
    /**
     * The nodes each site's cluster reports; by default a listed site's nodes, on the instances it
     * names, and for a pool site the local clusters' nodes (topologyNodes).
     */
    clusters?: Record<string, ClusterNode[]>;
    /** What else each site's cluster reports to the preflight, over the defaults (see `preflight`). */
    clusterFacts?: Record<string, Partial<ClusterFacts>>;
    /**
     * Configuration values as the engine hands them to the program (`plumr:<key>` → its text: JSON
     * for lists and maps, or any text, as `pulumi config set` without `--path` leaves it), set over
     * the ones the other options give; undefined removes a key. Every `plumr:access` key is secret.
     */
    rawConfig?: Record<string, string | undefined>;
    /** The project's environments: each one's topology file (what it changes of `topology`) and allocations file, if any. */
    environments?: Record<string, { patch: any; allocations?: string }>;
    /** `plumr:environment`: the environment the stack deploys (its name must then be `<environment>-<site>`). */
    environment?: string;
}

export interface RunResult {
    resources: Registered[];
    /** The token of every lookup (invoke) the program made, in order. */
    invokes: string[];
    sites: any;
    links: any;
}

/**
 * A stand-in binary: the 64-byte header of an ELF64 x86-64 executable (what the planner accepts
 * for amd64 nodes), then deterministic bytes that gzip cannot shrink (a sha256 stream) up to `size`.
 */
export function standInBinary(name: string, size = 40_000): Buffer {
    const header = Buffer.alloc(64);
    header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // ELF magic, 64-bit, little-endian, version 1, System V ABI
    header.writeUInt16LE(2, 16); // e_type: ET_EXEC
    header.writeUInt16LE(62, 18); // e_machine: x86-64
    header.writeUInt32LE(1, 20); // e_version
    header.writeUInt16LE(64, 52); // e_ehsize
    header.writeUInt16LE(56, 54); // e_phentsize (no program headers: e_phoff and e_phnum stay 0)
    header.writeUInt16LE(64, 58); // e_shentsize (no section headers: e_shoff and e_shnum stay 0)
    const blocks: Buffer[] = [header];
    for (let i = 0; i * 32 < size - header.length; i++) blocks.push(createHash("sha256").update(`${name}/${i}`).digest());
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

/**
 * The nodes a site's cluster reports by default. A site that lists its nodes: those, each on the
 * instance it names. A pool site: the nodes the local clusters give the site (dev/local/clusterSpecs.ts
 * INVENTORY), on EC2 instances of their zones, those of the local pool carrying the labels of the
 * site's selector; none for a site the local clusters do not have.
 */
export function topologyNodes(topology: any, site: string): ClusterNode[] {
    const { nodes, aws, pool } = topology.sites[site];
    if (pool) {
        return (INVENTORY[site] ?? []).map((n) => ({
            name: n.name,
            providerId: providerId(n),
            labels: { [ZONE_LABEL]: n.zone, ...(n.pool && (pool.selector ?? { [POOL_LABEL]: "" })) },
            ready: true,
        }));
    }
    return (nodes ?? []).map((n: any) => ({
        name: n.name,
        providerId: n.instanceId ? `aws:///${n.availabilityZone ?? `${aws?.region}a`}/${n.instanceId}` : "",
    }));
}

/** What the cluster reader (program/clusterReader.ts) gives for these facts: the API server's answers, as fake clusters give them. */
export function preflightOutput(facts: ClusterFacts): string {
    const section = (name: string, body: unknown) => `### ${name}\n${typeof body === "string" ? body : JSON.stringify(body)}\n`;
    const nodes = {
        kind: "NodeList",
        items: facts.nodes.map((n) => ({
            metadata: { name: n.name, labels: { ...(n.arch && { "kubernetes.io/arch": n.arch }), ...n.labels } },
            spec: {
                ...(n.providerId && { providerID: n.providerId }),
                ...(n.unschedulable && { unschedulable: true }),
                ...(n.podCidrs && { podCIDRs: n.podCidrs }),
            },
            status: {
                conditions: [{ type: "Ready", status: n.ready === false ? "False" : "True" }],
                ...((n.os || n.osImage) && { nodeInfo: { operatingSystem: n.os, osImage: n.osImage } }),
            },
        })),
    };
    const operator = facts.networkOperator && {
        spec: {
            defaultNetwork: {
                type: facts.networkOperator.networkType,
                ovnKubernetesConfig: { gatewayConfig: { ipForwarding: facts.networkOperator.ipForwarding } },
            },
        },
    };
    const env = facts.vpcCni && [
        ...(facts.vpcCni.externalSnat !== undefined ? [{ name: "AWS_VPC_K8S_CNI_EXTERNALSNAT", value: facts.vpcCni.externalSnat }] : []),
        ...(facts.vpcCni.excludeSnatCidrs !== undefined
            ? [{ name: "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", value: facts.vpcCni.excludeSnatCidrs }]
            : []),
    ];
    const reviews = facts.rights?.map((r) => [r.verb, r.group, r.resource, r.namespace ?? "", String(r.allowed)].join("\t")).join("\n");
    const networks = facts.networks && {
        status: { clusterNetwork: facts.networks.cluster.map((cidr) => ({ cidr })), serviceNetwork: facts.networks.service },
    };
    return [
        section("version", facts.serverVersion ? { gitVersion: facts.serverVersion } : {}),
        section("nodes", nodes),
        ...(facts.multus !== undefined ? [section("multus", facts.multus ? { kind: "APIResourceList" } : "")] : []),
        ...(facts.monitoring !== undefined
            ? [
                  section(
                      "monitoring",
                      facts.monitoring
                          ? { kind: "APIResourceList", resources: [{ name: "podmonitors" }, { name: "prometheusrules" }] }
                          : "",
                  ),
              ]
            : []),
        ...(facts.kubernetesServiceIp ? [section("kubernetes-service", { spec: { clusterIP: facts.kubernetesServiceIp } })] : []),
        ...(reviews ? [section("rights", reviews)] : []),
        section("network-operator", operator ?? ""),
        ...(networks ? [section("network-config", networks)] : []),
        section("aws-node", env ? { spec: { template: { spec: { containers: [{ name: "aws-node", env }] } } } } : ""),
        ...(facts.canUsePrivilegedScc !== undefined ? [section("privileged-scc", facts.canUsePrivilegedScc ? "yes" : "no")] : []),
    ].join("");
}

/**
 * What the cluster reader gives for the cluster the kubeconfig names, or how it fails: a
 * Kubernetes 1.34 cluster of amd64 nodes, on the instances the topology names, with Multus, no
 * OpenShift network operator and no VPC CNI, whose deployer may do all the stack asks (the
 * privileged SCC included); `clusters` and `clusterFacts` change that.
 */
function preflight(topology: any, options: RunOptions, kubeconfig: string, questions: ClusterQuestions): string {
    const site = Object.keys(topology.sites).find((s) => kubeconfig === `kubeconfig-of-${s}`);
    if (!site) throw new Error(`exit status 1: error: the fake clusters have no cluster for the kubeconfig ${kubeconfig}`);
    const nodes = (options.clusters?.[site] ?? topologyNodes(topology, site)).map((n) => ({ arch: "amd64", ...n }));
    const facts: ClusterFacts = {
        serverVersion: "v1.34.2",
        nodes,
        networkOperator: null,
        vpcCni: null,
        ...(questions.openshift && { canUsePrivilegedScc: true }),
        multus: true,
        kubernetesServiceIp: "172.30.0.1",
        rights: questions.rights.map(({ verb, group, resource, namespace }) => ({
            verb,
            group,
            resource,
            ...(namespace !== undefined && { namespace }),
            allowed: true,
        })),
        ...options.clusterFacts?.[site],
    };
    return preflightOutput(facts);
}

/** The logical name of the provider a provider reference (`<urn>::<id>`) names. */
const providerName = (ref?: string) => ref?.split("::")[3];

/** What a lookup (invoke) of the program answers, from `cloud`; throws the provider's words when it fails. */
function answer(args: pulumi.runtime.MockCallArgs, cloud: FakeAws, resources: Registered[]): Record<string, any> {
    // EC2 answers in the region of the provider the lookup goes through.
    const region = () => resources.find((r) => r.type === "pulumi:providers:aws" && r.name === providerName(args.provider))?.inputs.region;
    switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: `account-of-${providerName(args.provider)}`, arn: "arn", userId: "user", id: "id" };
        case "aws:ec2transitgateway/getTransitGateway:getTransitGateway": {
            const gateway = cloud.existingTransitGateway(args.inputs.id);
            const association = gateway.associatesWith ? "enable" : "disable";
            return {
                id: args.inputs.id,
                defaultRouteTableAssociation: association,
                associationDefaultRouteTableId: gateway.associatesWith ?? "",
            };
        }
        case "aws:ec2transitgateway/getRouteTable:getRouteTable": {
            const transitGatewayId = cloud.gatewayOf(args.inputs.id);
            if (!transitGatewayId) throw new Error("no matching EC2 Transit Gateway Route Table found");
            return { id: args.inputs.id, transitGatewayId };
        }
        case "aws:ec2/getInstance:getInstance":
            return cloud.ec2.getInstance(region(), args.inputs);
        case "aws:ec2/getSubnet:getSubnet":
            return cloud.ec2.getSubnet(region(), args.inputs);
        case "aws:ec2/getVpc:getVpc":
            return cloud.ec2.getVpc(region(), args.inputs);
        case "aws:ec2/getRouteTables:getRouteTables":
            return cloud.ec2.getRouteTables(region(), args.inputs);
        default:
            throw new Error(`the program made an unexpected call: ${args.token}`);
    }
}

/**
 * Runs the whole program for one stack under mocks; rejects with the program's error, or with what
 * the fake AWS refused (as the engine would fail the step).
 */
export async function runProgram(options: RunOptions): Promise<RunResult> {
    const shared = options.topology ?? exampleTopology();
    const env = options.environment;
    // What the stack deploys, and what its clusters hold: the environment's topology in an environment.
    const topology = env ? mergeEnvironment(shared, options.environments?.[env]?.patch, env) : shared;
    const stackSites = options.sites ?? [env && options.stack.startsWith(`${env}-`) ? options.stack.slice(env.length + 1) : options.stack];
    const cloud = options.aws ?? new FakeAws();
    const resources: Registered[] = options.registered ?? [];
    const invokes: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const provider = providerName(args.provider);
                const inputs = unwrap(args.inputs);
                const key = `${args.type}::${args.name}`;
                resources.push({ type: args.type, name: args.name, inputs, provider, dependsOn: dependencies.get(key) ?? [] });
                if (args.type === "pulumi:pulumi:StackReference") {
                    return {
                        id: inputs.name,
                        state: { name: inputs.name, outputs: options.stackOutputs?.[inputs.name] ?? {}, secretOutputNames: [] },
                    };
                }
                if (args.type.startsWith("aws:") || args.type.startsWith("command:")) {
                    return cloud.register(args.type, args.name, inputs, {
                        deleteBeforeReplace: deleteBeforeReplace.has(key),
                        dependsOn: dependencies.get(key) ?? [],
                    });
                }
                return { id: `${args.name}-id`, state: inputs };
            },
            call(args) {
                invokes.push(args.token);
                try {
                    return answer(args, cloud, resources);
                } catch (err) {
                    // The engine hands a provider's failure to the program in the gRPC error's details, in these words.
                    const said = err instanceof Error ? err.message : String(err);
                    const details = `invocation of ${args.token} returned an error: invoking ${args.token}: 1 error occurred:\n\t* ${said}`;
                    throw Object.assign(new Error(details), { details });
                }
            },
        },
        "plumr",
        options.stack,
        false,
        "organization",
    );
    const config: Record<string, string> = {
        "plumr:topology": JSON.stringify(shared),
        "plumr:access": JSON.stringify(
            options.access ??
                Object.fromEntries(
                    stackSites.filter((s) => Object.hasOwn(topology.sites ?? {}, s)).map((s) => [s, { kubeconfig: `kubeconfig-of-${s}` }]),
                ),
        ),
    };
    if (options.sites) config["plumr:sites"] = JSON.stringify(options.sites);
    if (env) config["plumr:environment"] = env;
    if (options.peerStacks) config["plumr:peerStacks"] = JSON.stringify(options.peerStacks);
    for (const [key, value] of Object.entries(options.rawConfig ?? {})) {
        if (value === undefined) delete config[key];
        else config[key] = value;
    }
    pulumi.runtime.setAllConfig(
        config,
        Object.keys(config).filter((key) => key.startsWith("plumr:access")),
    );

    const allocationsPath = shared.allocations ?? "plumr/allocations.json";
    const committed = path.join(REPO, allocationsPath);
    const dir = projectDir(
        options.binaries ?? { plumr: standInBinary("plumr"), shm_printer: standInBinary("shm_printer") },
        allocationsPath,
        options.allocations !== undefined ? options.allocations : fs.existsSync(committed) ? fs.readFileSync(committed, "utf8") : null,
    );
    for (const [name, { patch, allocations }] of Object.entries(options.environments ?? {})) {
        fs.mkdirSync(path.join(dir, ENVIRONMENTS_DIR, name), { recursive: true });
        fs.writeFileSync(path.join(dir, environmentFile(name)), YAML.stringify(patch ?? {}));
        if (allocations !== undefined) fs.writeFileSync(path.join(dir, environmentAllocations(name)), allocations);
    }
    cloud.ec2.describeTopology(topology, (site) => options.clusters?.[site] ?? topologyNodes(topology, site));
    cloud.beginRun(options.stack);
    try {
        const prepared = prepare(dir);
        const clusters = await readClusters(prepared, async (access, questions) => {
            const file = kubeconfigFile(access.kubeconfig);
            return preflight(topology, options, file ? fs.readFileSync(file, "utf8") : access.kubeconfig, questions);
        });
        const deployment = await deploy(prepared, clusters, clusterProviders(prepared));
        const sites = unwrap(await resolve(pulumi.output(deployment.sites)));
        const links = unwrap(await resolve(pulumi.output(deployment.links)));
        // Resources whose inputs wait on other outputs register late: let every RPC finish.
        await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
        const refused = cloud.endRun();
        if (refused.length > 0) throw new AwsRefusal(refused);
        return { resources, sites, links, invokes };
    } catch (err) {
        // A failed run still shows everything it registered: let those registrations finish.
        if (options.registered) await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
        throw err;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** What the fake AWS refused in a run: the step fails, and the run with it. */
export class AwsRefusal extends Error {
    constructor(public readonly refusals: string[]) {
        super(`AWS refused ${refusals.length === 1 ? "a change" : `${refusals.length} changes`}:\n${refusals.join("\n")}`);
        this.name = "AwsRefusal";
    }
}

/** The AWS and command resources of a run, by type and name, with their inputs. */
const awsState = (result: RunResult) =>
    new Map(
        result.resources
            .filter((r) => /^(aws:|command:|plumr:site:Aws)/.test(r.type))
            .map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]),
    );

/** What a run changed in AWS against the same stack's previous run: added, removed and changed resources. */
export function changes(before: RunResult | undefined, after: RunResult): string[] {
    const [was, is] = [before ? awsState(before) : new Map<string, string>(), awsState(after)];
    return [
        ...[...is.keys()].filter((k) => !was.has(k)).map((k) => `+ ${k}`),
        ...[...was.keys()].filter((k) => !is.has(k)).map((k) => `- ${k}`),
        ...[...is.keys()].filter((k) => was.has(k) && was.get(k) !== is.get(k)).map((k) => `~ ${k}`),
    ].sort();
}

/**
 * `pulumi up` of each stack in `order`, against one AWS, each run reading what the other stacks
 * published last. Rejects at the first step AWS refuses. Returns each run with what it changed.
 */
export async function upInOrder(
    order: string[],
    options: Partial<RunOptions> = {},
    cloud = new FakeAws(),
): Promise<{ cloud: FakeAws; runs: { stack: string; result: RunResult; changed: string[] }[] }> {
    const published: Record<string, Record<string, unknown>> = {};
    const last: Record<string, RunResult> = {};
    const runs: { stack: string; result: RunResult; changed: string[] }[] = [];
    for (const stack of order) {
        const result = await runProgram({ ...options, stack, aws: cloud, stackOutputs: { ...published } });
        runs.push({ stack, result, changed: changes(last[stack], result) });
        last[stack] = result;
        published[`organization/plumr/${stack}`] = { sites: result.sites, links: result.links };
    }
    return { cloud, runs };
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

/** The problems of a run that must fail with a ConfigError (`refusal` says what it must not have done), and what it registered. */
export async function runProblems(options: RunOptions, refusal: string): Promise<{ problems: Problem[]; registered: Registered[] }> {
    const registered: Registered[] = [];
    try {
        await runProgram({ ...options, registered });
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { problems: err.problems, registered };
    }
    throw new Error(`expected a ConfigError: ${refusal}`);
}

/** What the program builds the pod of Ohio's first endpoint from, in `plan` of the shipped two sites, its peer in Mumbai. */
export function ohioEndpointPodArgs(plan: Plan): EndpointPodArgs {
    const [endpoint] = endpointsAt(plan, "ohio");
    return {
        endpoint,
        site: plan.sites.ohio,
        tunnel: plan.tunnel,
        binaries: { sha256sums: sha256sums(plan.binaries.packages).trimEnd(), hostPath: plan.binaries.hostPath },
        peers: [{ site: "mumbai", endpoint: "ohio-mumbai", facts: { tunnelIp: "10.4.0.2", address: "10.20.1.200" } }],
        configSecret: "plumr-ohio-mumbai-config",
        serviceAccount: "plumr-endpoint",
        entrypointConfigMap: "plumr-entrypoint",
        exporterConfigMap: "plumr-exporter",
    };
}
