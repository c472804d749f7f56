// Every object the program renders for the shipped topology (its sites pools, on the local clusters'
// nodes), the pinned example (every node written), the four-site examples and the environments
// example, held against a record of them (test/fixtures/rendered/): a change of the code's
// structure must leave them byte for byte as they were. After a deliberate change to what
// the program renders, rewrite the record with UPDATE_FIXTURES=1 and review its diff.
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { exampleFile, readTopologyFile, SHIPPED_PROJECT } from "../../lib/topologyFile";
import { mergeEnvironment } from "../../planner/environments/environments";
import { stages } from "../../planner/environments/rollout";
import { parseTopology } from "../../planner/topology/schema";
import { RunOptions, upInOrder } from "../support/harness";

const ROOT = path.join(__dirname, "..", "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "rendered");
const ENVIRONMENTS = path.join(ROOT, "examples", "environments");

/** Long strings (the binaries' chunks) as their sha256: equal exactly when the strings are. */
function condensed(value: unknown): unknown {
    if (typeof value === "string") return value.length > 2048 ? `sha256:${createHash("sha256").update(value).digest("hex")}` : value;
    if (Array.isArray(value)) return value.map(condensed);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, condensed(v)]));
    return value;
}

/**
 * Brings up `order` under mocks, then every stack once more, and returns that last round: each
 * stack's resources (type, name, provider, dependencies and inputs) and its outputs.
 */
async function rendered(order: string[], options: Partial<RunOptions>): Promise<Record<string, unknown>> {
    const stacks = [...new Set(order)];
    const { runs } = await upInOrder([...order, ...stacks], options);
    const result: Record<string, unknown> = {};
    for (const { stack, result: run } of runs.slice(-stacks.length)) {
        const resources: Record<string, unknown> = {};
        for (const r of [...run.resources].sort((x, y) => `${x.type}::${x.name}`.localeCompare(`${y.type}::${y.name}`))) {
            resources[`${r.type}::${r.name}`] = { provider: r.provider, dependsOn: [...r.dependsOn].sort(), inputs: r.inputs };
        }
        result[stack] = condensed({ resources, outputs: { sites: run.sites, links: run.links } });
    }
    return result;
}

function holdAgainstRecord(name: string, actual: Record<string, unknown>): void {
    const file = path.join(FIXTURES, `${name}.json`);
    const text = `${JSON.stringify(actual, null, 1)}\n`;
    if (process.env.UPDATE_FIXTURES === "1") {
        fs.mkdirSync(FIXTURES, { recursive: true });
        fs.writeFileSync(file, text);
    }
    assert.deepStrictEqual(JSON.parse(text), JSON.parse(fs.readFileSync(file, "utf8")));
}

describe("the rendered objects stay as recorded", () => {
    for (const [name, file] of [
        ["shipped", SHIPPED_PROJECT],
        ["pinned", exampleFile("pinned")],
        ["hub-and-spoke", exampleFile("hub-and-spoke")],
        ["full-mesh", exampleFile("full-mesh")],
    ]) {
        it(`of ${name === "shipped" ? "the shipped topology" : `the ${name} example`}`, async () => {
            const topology = readTopologyFile(file);
            const allocations = fs.readFileSync(path.join(ROOT, parseTopology(topology).allocations), "utf8");
            const [stage] = stages([{ topology: parseTopology(topology) }]);
            holdAgainstRecord(name, await rendered(stage.order, { topology, allocations }));
        });
    }

    it("of the environments example", async () => {
        const shared = readTopologyFile(path.join(ENVIRONMENTS, "Pulumi.yaml"));
        shared.binaries.dir = "binaries";
        shared.configTemplate = "plumr/config.template.json";
        const environments = Object.fromEntries(
            ["staging", "production"].map((env) => [
                env,
                {
                    patch: YAML.parse(fs.readFileSync(path.join(ENVIRONMENTS, "environments", env, "topology.yaml"), "utf8")),
                    allocations: fs.readFileSync(path.join(ENVIRONMENTS, "environments", env, "allocations.json"), "utf8"),
                },
            ]),
        );
        const all: Record<string, unknown> = {};
        for (const env of ["staging", "production"]) {
            const topology = parseTopology(mergeEnvironment(shared, environments[env].patch, env));
            const [stage] = stages([{ name: env, topology }]);
            Object.assign(all, await rendered(stage.order, { topology: shared, environments, environment: env }));
        }
        holdAgainstRecord("environments", all);
    });
});
