// Reads topology files the one way every command, tool, benchmark and test does: the value of
// plumr:topology in a file with a config section (Pulumi.yaml, the examples), or the whole file.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { mergeEnvironment, siteStack } from "../planner/environments/environments";
import { listEnvironments, readEnvironmentFile } from "../program/environmentFiles";
import { TOPOLOGY_KEY } from "../planner/topology/schema";
import type { AwsSiteIds, Plan } from "../planner/types";

const ROOT = path.join(__dirname, "..");

/** The project file the repository ships, its topology the one `npm run demo` deploys. */
export const SHIPPED_PROJECT = path.join(ROOT, "Pulumi.yaml");

/** The topology file of the example `name` (examples/<name>/topology.yaml). */
export const exampleFile = (name: string): string => path.join(ROOT, "examples", name, "topology.yaml");

/** A project or topology file, parsed: a fresh copy on every call. */
export function readProjectFile(file: string): any {
    return YAML.parse(fs.readFileSync(file, "utf8"));
}

/** The topology in a parsed file (the object itself: changing it changes the file's content). */
export function topologyIn(content: any, file: string): any {
    if (content?.config === undefined) return content;
    const entry = content.config[TOPOLOGY_KEY];
    if (entry === undefined) throw new Error(`${file} has a config section but no ${TOPOLOGY_KEY} in it`);
    return entry?.value ?? entry;
}

/** The topology in `file`, as written (no defaults filled in): a fresh copy on every call. */
export function readTopologyFile(file: string): any {
    return topologyIn(readProjectFile(file), file);
}

/** The shipped topology (Pulumi.yaml's), as written: a fresh copy on every call. */
export function shippedTopology(): any {
    return readTopologyFile(SHIPPED_PROJECT);
}

/** The environments of the project whose project file is `projectFile` (environments/<env>/topology.yaml next to it). */
export function projectEnvironments(projectFile = SHIPPED_PROJECT): string[] {
    return listEnvironments(path.dirname(projectFile));
}

/** Environment `env`'s topology, as written: the project file's, with environments/<env>/topology.yaml over it. */
export function environmentTopology(env: string, projectFile = SHIPPED_PROJECT): any {
    return mergeEnvironment(readTopologyFile(projectFile), readEnvironmentFile(path.dirname(projectFile), env), env);
}

/** The stacks of environment `env`: one per site of its topology, named `<env>-<site>`. */
export function environmentStacks(env: string, projectFile = SHIPPED_PROJECT): string[] {
    return Object.keys(environmentTopology(env, projectFile).sites ?? {}).map((site) => siteStack(env, site));
}

/** What a pinned node says of its instance. */
export interface NodePin {
    instanceId?: string;
    availabilityZone?: string;
}

/**
 * The `sites` block that pins the nodes of `sites` as `plan` places them (each node with its range,
 * instance and zone), as YAML text: a pool's nodes carry the slot they hold as a comment. A site
 * with AWS ids in `awsIds` (found in AWS, or as written) gets them in its `aws` block, after the
 * settings the topology gives it, so that the block pasted whole keeps them.
 */
export function pinnedSitesYaml(plan: Plan, sites: string[], awsIds: Record<string, AwsSiteIds> = {}): string {
    const awsBlock = (site: string) => {
        const { region, routing, transitGatewayId, transitGatewayAsn } = plan.sites[site].config.aws!;
        // The ASN is the one of a Transit Gateway the program creates: a site that names its gateway has none.
        return { region, routing, ...(transitGatewayId ? { transitGatewayId } : { transitGatewayAsn }), ...awsIds[site] };
    };
    const doc = new YAML.Document({
        sites: Object.fromEntries(
            sites.map((site) => [
                site,
                {
                    nodes: plan.sites[site].config.nodes.map((n) => ({
                        name: n.name,
                        range: n.range,
                        ...(n.instanceId && { instanceId: n.instanceId }),
                        ...(n.availabilityZone && { availabilityZone: n.availabilityZone }),
                    })),
                    ...(awsIds[site] && { aws: awsBlock(site) }),
                },
            ]),
        ),
    });
    for (const site of sites) {
        const nodes = doc.getIn(["sites", site, "nodes"]) as YAML.YAMLSeq<YAML.YAMLMap>;
        plan.sites[site].config.nodes.forEach((node, i) => {
            if (node.slot !== undefined) nodes.items[i].commentBefore = ` slot ${node.slot} of the pool`;
        });
        if (awsIds[site]) {
            const block = doc.getIn(["sites", site]) as YAML.YAMLMap<YAML.Scalar, unknown>;
            const key = block.items.find((pair) => pair.key.value === "aws")!.key;
            key.commentBefore = " the AWS ids found in AWS now (or as written): each one written pins it";
        }
    }
    return doc.toString({ lineWidth: 0 });
}

/**
 * Sets the instance id and zone of every node `site` lists in a topology file's text to what its
 * cluster says (`pins`, by node name), keeping the file's comments and layout. `inProject`: the
 * file is a project file (the topology under config), else an environment's topology file. Returns
 * the new text and what changed; a listed node the cluster does not have is said, and left as it is.
 */
export function setNodePins(
    text: string,
    site: string,
    pins: Map<string, NodePin>,
    inProject: boolean,
): { text: string; changes: string[] } {
    const doc = YAML.parseDocument(text);
    const base = inProject ? ["config", TOPOLOGY_KEY, ...(doc.hasIn(["config", TOPOLOGY_KEY, "value"]) ? ["value"] : [])] : [];
    const nodes = doc.getIn([...base, "sites", site, "nodes"]);
    const changes: string[] = [];
    if (!YAML.isSeq(nodes)) return { text, changes };
    nodes.items.forEach((item, i) => {
        if (!YAML.isMap(item)) return;
        const name = String(item.get("name"));
        const field = `sites.${site}.nodes[${i}]`;
        const pin = pins.get(name);
        if (!pin) {
            changes.push(`${field}: the cluster has no node ${name} (replaced?); left as it is`);
            return;
        }
        for (const key of ["instanceId", "availabilityZone"] as const) {
            const was = item.get(key);
            if (pin[key] === undefined || was === pin[key]) continue;
            item.set(key, pin[key]);
            changes.push(`${field}.${key}: ${was ?? "(none)"} → ${pin[key]}`);
        }
    });
    return { text: changes.length > 0 ? doc.toString({ lineWidth: 0 }) : text, changes };
}
