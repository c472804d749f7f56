// Reads a project's environments from its directory: which there are, and each one's topology file
// (environments/<env>/topology.yaml). What the files mean is the planner's
// (planner/environments/environments.ts), which does no I/O.
import * as fs from "fs";
import * as path from "path";
import type * as Yaml from "yaml";
import { ENVIRONMENTS_DIR, environmentFile, EnvironmentTopology, isMap, mergeEnvironment } from "../planner/environments/environments";
import { ConfigError } from "../planner/problems/errors";
import { parseTopology } from "../planner/topology/schema";

/** The environments of the project in `baseDir`: every directory under environments/ with a topology.yaml, sorted. */
export function listEnvironments(baseDir: string): string[] {
    const dir = path.join(baseDir, ENVIRONMENTS_DIR);
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
        return [];
    }
    return entries
        .filter((e) => e.isDirectory() && fs.existsSync(path.join(baseDir, environmentFile(e.name))))
        .map((e) => e.name)
        .sort();
}

/**
 * Reads environment `env`'s topology file under `baseDir`. A missing environment or a file that
 * is not a YAML map is a ConfigError that names the file and the environments there are.
 */
export function readEnvironmentFile(baseDir: string, env: string): Record<string, unknown> {
    const file = environmentFile(env);
    const absolute = path.join(baseDir, file);
    let text: string;
    try {
        text = fs.readFileSync(absolute, "utf8");
    } catch {
        const known = listEnvironments(baseDir);
        throw new ConfigError([
            {
                field: "plumr:environment",
                value: env,
                message: `no such environment: nothing at ${absolute}`,
                fix:
                    known.length > 0
                        ? `set it to one of ${known.join(", ")} (pulumi config set plumr:environment <name>), or create ${file}`
                        : `create ${file} with what the environment changes of plumr:topology (docs/ENVIRONMENTS.md shows one), ` +
                          "or remove the key for a project with one environment: pulumi config rm plumr:environment",
            },
        ]);
    }
    const fail = (message: string, fix: string, at?: number): never => {
        throw new ConfigError([{ field: file, value: undefined, message, fix, ...(at !== undefined && { at }) }]);
    };
    let content: unknown;
    try {
        // Loaded only by a project with environments.
        const YAML: typeof Yaml = require("yaml");
        content = YAML.parse(text);
    } catch (err) {
        fail(`not YAML: ${(err as Error).message.split("\n")[0]}`, "correct the file's YAML");
    }
    if (content === null || content === undefined) return {};
    if (!isMap(content)) {
        fail(
            `expected a map of the topology's keys (sites, links, tunnel, ...), found ${Array.isArray(content) ? "a list" : typeof content}`,
            "write what this environment changes of plumr:topology as a map, e.g. sites: {ohio: {namespace: plumr-staging}}",
        );
    }
    return content as Record<string, unknown>;
}

/** One environment of a project, read in one step: its file, its topology as written, and the other environments'. */
export interface Environment {
    name: string;
    /** What its file changes of the shared topology (a JSON Merge Patch). */
    patch: Record<string, unknown>;
    /** Its topology as written: the shared one with the file applied over it. */
    topology: unknown;
    /** The other environments' parsed topologies, for the checks of what environments share. */
    others: EnvironmentTopology[];
}

/**
 * Environment `env` of the project in `baseDir`, whose shared topology (Pulumi.yaml's) is `shared`:
 * a ConfigError when it has no file, or a file that is not a YAML map.
 */
export function readEnvironment(baseDir: string, env: string, shared: unknown, environments = listEnvironments(baseDir)): Environment {
    const patch = readEnvironmentFile(baseDir, env);
    return {
        name: env,
        patch,
        topology: mergeEnvironment(shared, patch, env),
        others: readOtherEnvironments(env, shared, baseDir, environments),
    };
}

/** The other environments' topologies, for the shared-infrastructure check; one that does not parse is left to its own stacks to report. */
export function readOtherEnvironments(env: string, shared: unknown, baseDir: string, environments: string[]): EnvironmentTopology[] {
    const others: EnvironmentTopology[] = [];
    for (const name of environments) {
        if (name === env) continue;
        try {
            others.push({ name, topology: parseTopology(mergeEnvironment(shared, readEnvironmentFile(baseDir, name), name)) });
        } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
        }
    }
    return others;
}
