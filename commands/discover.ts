// plumr discover (npm run discover; `plumr discover --help` shows its usage).
//
// What the program finds of each site a stack deploys, read from the site's cluster now through the
// stack's own access (as `pulumi up` reads it before any change): the nodes of the site (a pool's,
// each with the slot it holds), with their instance ids and zones, and for a site routed through a
// Transit Gateway the AWS ids the program finds from them (its VPC and CIDR block, route tables,
// attachment subnets, security groups), looked up with the aws CLI and the user's credentials as
// `pulumi up` looks them up through the AWS provider; printed as the topology's own YAML, so that a
// team that pins everything can paste it. With --write it records the nodes: the allocations file
// gets the pools' slots and the links' values as they are now, and a site that lists its nodes
// gets their instance ids and zones as its cluster says them (comments kept). It says what changed;
// the AWS ids it only prints. Exits 1 when a cluster cannot be read or does not fit the topology,
// when a lookup in AWS fails or finds what a written id disagrees with, and without the aws CLI.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { describeChanges, formatAllocations } from "../planner/addressing/allocations";
import { parseProviderId } from "../planner/cluster/facts";
import { formatProblems, Problems } from "../planner/problems/errors";
import type { AwsSiteIds, Plan } from "../planner/types";
import { environmentFile } from "../planner/environments/environments";
import { awsSessionName } from "../planner/topology/stackSettings";
import { readClusters } from "../program/clusterReader";
import { discoverAwsSites } from "../program/discoverAws";
import type { Prepared } from "../program/prepare";
import { checkClusters } from "../program/preflight";
import { AWS_CLI_MISSING, awsCliLookups, hasAwsCli } from "../lib/awsCliLookups";
import { Command, Parsed, runCommand } from "../lib/commandLine";
import { STACK_ARGS, STACK_OPTIONS, stackArgs } from "../lib/stackArgs";
import { prepareStack } from "../lib/stackPrepare";
import { NodePin, pinnedSitesYaml, setNodePins } from "../lib/topologyFile";

const USAGE = `usage: plumr discover ${STACK_ARGS} [--write] [--cwd <project directory>]
       npm run discover -- [the same]

Reads each site a stack deploys from its cluster (and, for a site routed through a Transit Gateway,
its AWS ids with the aws CLI) and prints them as the topology's own YAML, for pasting.

  <stack>                        the stack whose sites to read
  --environment <environment>    every stack of that environment instead
  --write                        also record the nodes: the pools' slots and the links' values in the
                                 allocations file, the instance ids and zones of the nodes a site lists
  --cwd <project directory>      the project in that directory (default: the current one)
  --help, -h                     this text`;

/** Each site's nodes as the cluster has them now, keyed by site and node name: what a pinned node's fields must say. */
function clusterPins(prepared: Prepared, clusters: Awaited<ReturnType<typeof readClusters>>): Record<string, Map<string, NodePin>> {
    const pins: Record<string, Map<string, NodePin>> = {};
    for (const site of prepared.managed) {
        const read = clusters[site];
        if (!("facts" in read)) continue;
        pins[site] = new Map(
            read.facts.nodes.map((node) => {
                const said = parseProviderId(node.providerId);
                const zone = node.labels?.["topology.kubernetes.io/zone"] ?? said.zone;
                return [node.name, { ...(said.instanceId && { instanceId: said.instanceId }), ...(zone && { availabilityZone: zone }) }];
            }),
        );
    }
    return pins;
}

/** Writes the allocations file as `plan` has it now; the line that says what changed. */
function writeAllocations(workDir: string, prepared: Prepared, plan: Plan): string {
    const file = path.resolve(workDir, prepared.topology.allocations);
    const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    const after = formatAllocations(plan.allocations.record);
    if (before === after) return `${prepared.topology.allocations} is current`;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, after);
    return `wrote ${prepared.topology.allocations}: ${describeChanges(plan.allocations.changes) ?? "its layout"}`;
}

/** Sets the instance ids and zones of the listed nodes of the stack's sites to what their clusters say; the lines that say what changed. */
function writeNodePins(workDir: string, prepared: Prepared, pins: Record<string, Map<string, NodePin>>): string[] {
    const lines: string[] = [];
    const env = prepared.environment;
    for (const site of prepared.managed) {
        if (prepared.topology.sites[site].nodes === undefined || !pins[site]) continue;
        // In an environment, a site's nodes are in the environment's file when it lists them, else in Pulumi.yaml.
        const envFile = env && path.join(workDir, environmentFile(env));
        const inEnvironment = envFile && YAML.parse(fs.readFileSync(envFile, "utf8"))?.sites?.[site]?.nodes !== undefined;
        const file = inEnvironment ? envFile : path.join(workDir, "Pulumi.yaml");
        const { text, changes } = setNodePins(fs.readFileSync(file, "utf8"), site, pins[site], !inEnvironment);
        for (const change of changes) lines.push(`${path.relative(workDir, file)}: ${change}`);
        if (changes.length > 0) fs.writeFileSync(file, text);
    }
    return lines;
}

/**
 * The AWS ids of the stack's sites routed through a Transit Gateway, looked up with the aws CLI as
 * each site's stack would look them up (the site's region, its awsProfile or the environment's
 * credentials, and its awsRoleArn assumed from them); the problems of a lookup that fails or of a written id that disagrees with what it
 * finds go to `problems`. Undefined, said, on a machine without the aws CLI.
 */
async function awsIds(prepared: Prepared, plan: Plan, problems: Problems): Promise<Record<string, AwsSiteIds> | undefined> {
    const routed = prepared.managed.filter((site) => plan.aws.sites[site]);
    if (routed.length === 0) return {};
    if (!hasAwsCli()) return undefined;
    const lookupsOf = (site: string) => {
        const { awsProfile: profile, awsRoleArn: roleArn } = prepared.access[site];
        return awsCliLookups(plan.aws.sites[site].region, {
            profile,
            role: roleArn ? { roleArn, sessionName: awsSessionName(site) } : undefined,
        });
    };
    const resolved = await discoverAwsSites(plan, routed, lookupsOf, problems);
    return Object.fromEntries(Object.entries(resolved).map(([site, { ids }]) => [site, ids]));
}

async function discover(stackName: string, workDir: string, write: boolean): Promise<boolean> {
    const { prepared } = await prepareStack(stackName, workDir);
    const clusters = await readClusters(prepared);
    const { plan, checks } = checkClusters(prepared, clusters);
    const problems = checks.flatMap((c) => c.problems);
    if (!plan || problems.length > 0) {
        console.error(`${stackName}:\n${formatProblems(problems)}`);
        return false;
    }
    const awsProblems = new Problems();
    const ids = await awsIds(prepared, plan, awsProblems);
    const printsIds = Object.keys(ids ?? {}).length > 0;
    console.log(
        `# Stack ${stackName}: the nodes of its sites as their clusters have them now` +
            (printsIds ? `, and the AWS ids found for them (aws CLI): written into the topology, each one pins it.` : "."),
    );
    console.log(pinnedSitesYaml(plan, prepared.managed, ids).trimEnd());
    let ok = true;
    if (!ids) {
        console.error(`${stackName}: ${AWS_CLI_MISSING}`);
        ok = false;
    } else if (awsProblems.list.length > 0) {
        console.error(`${stackName}:\n${formatProblems(awsProblems.list)}`);
        ok = false;
    }
    if (!write) return ok;
    const lines = [writeAllocations(workDir, prepared, plan), ...writeNodePins(workDir, prepared, clusterPins(prepared, clusters))];
    if (printsIds) lines.push("the AWS ids above are printed for pasting: --write does not write them into the topology");
    console.log(`\n${lines.join("\n")}\n`);
    return ok;
}

async function discoverAll(parsed: Parsed): Promise<number> {
    const stacks = stackArgs(parsed);
    process.chdir(stacks.workDir);
    let ok = true;
    for (const stack of stacks.stacks) ok = (await discover(stack, stacks.workDir, parsed.values.write === true)) && ok;
    return ok ? 0 : 1;
}

export const command: Command = {
    line: {
        name: "discover",
        usage: USAGE,
        options: { environment: STACK_OPTIONS.environment, cwd: STACK_OPTIONS.cwd, write: { type: "boolean" } },
        positionals: 1,
    },
    run: discoverAll,
    stopped: "each file it wrote is whole, and a second run writes what is left: run it again",
};

if (require.main === module) void runCommand(command, process.argv.slice(2));
