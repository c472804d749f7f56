// Reads topology files the one way every command, tool, benchmark and test does: the value of
// plumr:topology in a file with a config section (Pulumi.yaml, the examples), or the whole file.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { mergeEnvironment, siteStack } from "../planner/environments/environments";
import { listEnvironments, readEnvironmentFile } from "../program/environmentFiles";
import { TOPOLOGY_KEY } from "../planner/topology/schema";

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
