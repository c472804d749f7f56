// Stable allocation: values recorded in the allocations file are kept while they fit, so adding,
// removing or reordering links never renumbers the others.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Allocations, formatAllocations } from "../../planner/addressing/allocations";
import { ConfigError } from "../../planner/problems/errors";
import { planAllocations, planTopology } from "../../planner/plan";
import type { Plan } from "../../planner/types";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, plannerFiles } from "../support/harness";
import { environmentTopology, projectEnvironments, readTopologyFile } from "../../lib/topologyFile";

const OHIO = ["ip-10-0-154-10.us-east-2.compute.internal", "ip-10-0-171-33.us-east-2.compute.internal"];
const MUMBAI = [
    "ip-10-1-241-95.ap-south-1.compute.internal",
    "ip-10-1-236-160.ap-south-1.compute.internal",
    "ip-10-1-202-17.ap-south-1.compute.internal",
];
const T = "plumr:topology";

interface LinkSpec {
    name: string;
    ohio: number;
    mumbai: number;
}

/** The pinned example's topology with the given links, none of them with an explicit value. */
function topologyWith(links: LinkSpec[]): any {
    const raw = exampleTopology();
    raw.links = links.map((l) => ({
        name: l.name,
        ends: [
            { site: "ohio", node: OHIO[l.ohio] },
            { site: "mumbai", node: MUMBAI[l.mumbai] },
        ],
    }));
    return raw;
}

const spec = (name: string, i: number): LinkSpec => ({ name, ohio: i % OHIO.length, mumbai: i % MUMBAI.length });

function planWith(raw: any, recorded?: Allocations): Plan {
    return planTopology(parseTopology(raw), plannerFiles({ allocations: recorded && formatAllocations(recorded) }));
}

/** What a link was given, in one comparable string per link. */
function valuesOf(plan: Plan): Record<string, string> {
    return Object.fromEntries(
        plan.links.map((l) => [l.name, `${l.tunnelSubnet} :${l.ends[0].port} ${l.ends.map((e) => `${e.node}=${e.address}`).join(" ")}`]),
    );
}

function configErrorOf(fn: () => unknown): ConfigError {
    try {
        fn();
    } catch (err) {
        if (err instanceof ConfigError) return err;
        throw err;
    }
    assert.fail("expected a ConfigError");
}

describe("stable allocation", () => {
    const names = ["alpha", "bravo", "charlie", "delta"];
    const initial = planWith(topologyWith(names.map(spec)));

    it("gives each link its own tunnel subnet and port, and each end the lowest free address", () => {
        assert.deepStrictEqual(
            initial.links.map((l) => [l.tunnelSubnet, l.ends[0].port, l.ends[1].port]),
            [
                ["10.4.0.0/30", 5000, 5000],
                ["10.4.0.4/30", 5001, 5001],
                ["10.4.0.8/30", 5002, 5002],
                ["10.4.0.12/30", 5003, 5003],
            ],
        );
        // alpha and charlie share Ohio's first node; delta shares Mumbai's first node with alpha.
        assert.deepStrictEqual(
            initial.links.map((l) => l.ends.map((e) => e.address)),
            [
                ["10.10.1.2", "10.20.1.2"],
                ["10.10.2.2", "10.20.2.2"],
                ["10.10.1.3", "10.20.3.2"],
                ["10.10.2.3", "10.20.1.3"],
            ],
        );
    });

    it("keeps every other link's values when a link is removed", () => {
        const without = names.filter((n) => n !== "bravo");
        const kept = planWith(topologyWith(without.map((n) => spec(n, names.indexOf(n)))), initial.allocations.record);
        const before = valuesOf(initial);
        for (const name of without) assert.strictEqual(valuesOf(kept)[name], before[name], name);
        // Without the file, allocation would follow the order of the list and move charlie and delta.
        const unrecorded = planWith(topologyWith(without.map((n) => spec(n, names.indexOf(n)))));
        assert.notStrictEqual(valuesOf(unrecorded).charlie, before.charlie);
        assert.deepStrictEqual(kept.allocations.changes, { added: [], removed: ["bravo"], changed: [], slots: [] });
    });

    it("keeps every other link's values when a link is added first in the list", () => {
        const added = planWith(topologyWith([spec("aaa", 0), ...names.map(spec)]), initial.allocations.record);
        const before = valuesOf(initial);
        for (const name of names) assert.strictEqual(valuesOf(added)[name], before[name], name);
        assert.strictEqual(
            valuesOf(added).aaa,
            "10.4.0.16/30 :5004 ip-10-0-154-10.us-east-2.compute.internal=10.10.1.4 ip-10-1-241-95.ap-south-1.compute.internal=10.20.1.4",
        );
        assert.deepStrictEqual(added.allocations.changes, { added: ["aaa"], removed: [], changed: [], slots: [] });
    });

    it("changes nothing when the links are reordered", () => {
        const reversed = planWith(topologyWith(names.map(spec).reverse()), initial.allocations.record);
        assert.deepStrictEqual(valuesOf(reversed), valuesOf(initial));
        assert.deepStrictEqual(reversed.allocations.changes, { added: [], removed: [], changed: [], slots: [] });
    });

    it("keeps a removed link's values reserved until the file is rewritten", () => {
        const raw = topologyWith([...names.filter((n) => n !== "bravo").map((n) => spec(n, names.indexOf(n))), spec("echo", 1)]);
        const stale = planWith(raw, initial.allocations.record);
        const echo = stale.links.find((l) => l.name === "echo")!;
        assert.strictEqual(echo.tunnelSubnet, "10.4.0.16/30", "bravo's 10.4.0.4/30 is still reserved");
        // Recording this plan keeps echo's values and releases bravo's for the next new link.
        const rewritten = planWith(raw, stale.allocations.record);
        assert.deepStrictEqual(valuesOf(rewritten), valuesOf(stale));
        const next = planWith(topologyWith([...raw.links.map((l: any) => spec(l.name, 1)), spec("foxtrot", 1)]), stale.allocations.record);
        assert.strictEqual(next.links.find((l) => l.name === "foxtrot")!.tunnelSubnet, "10.4.0.4/30");
    });

    it("re-allocates a recorded value that no longer fits, and says so", () => {
        const raw = topologyWith(names.map(spec));
        raw.links[1].ends[0].node = OHIO[0]; // bravo's Ohio end moves to the other node
        raw.tunnel.port = 5001; // alpha's 5000 is now below the first port
        const moved = planWith(raw, initial.allocations.record);
        const bravo = moved.links[1].ends[0];
        assert.strictEqual(bravo.address, "10.10.1.4", "the lowest free address on its new node");
        assert.strictEqual(moved.links[0].ends[0].port, 5004);
        assert.deepStrictEqual(moved.allocations.changes, { added: [], removed: [], changed: ["alpha", "bravo"], slots: [] });
        assert.strictEqual(valuesOf(moved).charlie, valuesOf(initial).charlie);
    });

    it("gives a value the topology names to its link, and moves the link that only had it recorded", () => {
        const raw = topologyWith(names.map(spec));
        raw.links[2].ends[0].address = "10.10.1.2"; // alpha's recorded address, now charlie's explicitly
        raw.links[3].tunnelSubnet = "10.4.0.0/30"; // alpha's recorded tunnel subnet, now delta's
        raw.links[3].port = 5000; // alpha's port: links may share one
        const p = planWith(raw, initial.allocations.record);
        assert.strictEqual(p.links[2].ends[0].address, "10.10.1.2");
        assert.strictEqual(p.links[0].ends[0].address, "10.10.1.3", "charlie's old address, free again");
        assert.strictEqual(p.links[3].tunnelSubnet, "10.4.0.0/30");
        assert.strictEqual(p.links[0].tunnelSubnet, "10.4.0.12/30", "delta's old subnet, free again");
        assert.deepStrictEqual([p.links[0].ends[0].port, p.links[3].ends[0].port], [5000, 5000]);
        assert.deepStrictEqual(p.allocations.changes.changed, ["alpha", "charlie", "delta"]);
    });

    it("rejects a tunnel subnet outside the pool, of the wrong size, or taken by another link", () => {
        const raw = topologyWith(names.map(spec));
        raw.links[0].tunnelSubnet = "10.5.0.0/30";
        raw.links[1].tunnelSubnet = "10.4.0.0/29";
        raw.links[2].tunnelSubnet = "10.4.0.8/30";
        raw.links[3].tunnelSubnet = "10.4.0.8/30";
        const err = configErrorOf(() => planWith(raw));
        assert.deepStrictEqual(
            err.problems.map((p) => [p.field, p.message]),
            [
                [`${T}.links[0].tunnelSubnet`, "not a /30 subnet of the tunnel pool 10.4.0.0/24"],
                [`${T}.links[1].tunnelSubnet`, "not a /30 subnet of the tunnel pool 10.4.0.0/24"],
                [`${T}.links[3].tunnelSubnet`, "already the tunnel subnet of link charlie"],
            ],
        );
    });

    it("rejects an allocations file it cannot read, naming the topology's field", () => {
        const files = (allocations: string) => plannerFiles({ allocations });
        const topology = parseTopology(topologyWith(names.map(spec)));
        for (const [text, message] of [
            ["{ not json", /not valid JSON/],
            [
                JSON.stringify({ links: { alpha: { tunnelSubnet: "10.4.0.0/30" } } }),
                /not an allocations file: the file\.links\.alpha\.port/,
            ],
        ] as const) {
            const err = configErrorOf(() => planTopology(topology, files(text)));
            assert.strictEqual(err.problems[0].field, `${T}.allocations`);
            assert.match(err.problems[0].message, message);
            assert.match(err.problems[0].fix, /restore it from version control/);
        }
    });

    it("writes the file sorted by link name, whatever the order of the links", () => {
        const reversed = planWith(topologyWith(names.map(spec).reverse()));
        const text = formatAllocations(reversed.allocations.record);
        assert.deepStrictEqual(Object.keys(JSON.parse(text).links), [...names].sort());
        assert.strictEqual(formatAllocations(JSON.parse(text)), text);
    });

    it("plans the same addressing without the binaries and the template (npm run allocate)", () => {
        const topology = parseTopology(topologyWith(names.map(spec)));
        const addressing = planAllocations(topology, formatAllocations(initial.allocations.record));
        assert.deepStrictEqual(addressing.record, initial.allocations.record);
        assert.deepStrictEqual(addressing.changes, { added: [], removed: [], changed: [], slots: [] });
    });

    it("never renumbers a link over a long random history of adds, removes and reorders", () => {
        let seed = 7;
        const random = (n: number) => {
            // mulberry32: a small seeded generator, so a failure can be replayed.
            seed = (seed + 0x6d2b79f5) | 0;
            let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
            t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
            return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n;
        };
        let links: LinkSpec[] = [];
        let recorded: Allocations = { links: {} };
        let before: Record<string, string> = {};
        for (let step = 0, made = 0; step < 300; step++) {
            const op = links.length < 3 ? 0 : Math.floor(random(3));
            if (op === 0 && links.length < 60) {
                links.splice(Math.floor(random(links.length + 1)), 0, spec(`link-${made++}`, Math.floor(random(6))));
            } else if (op === 1 || links.length >= 60) {
                links.splice(Math.floor(random(links.length)), 1);
            } else {
                links = [...links].sort(() => random(2) - 1);
            }
            const raw = topologyWith(links);
            raw.tunnel.pool = "10.4.0.0/22";
            const p = planWith(raw, recorded);
            const now = valuesOf(p);
            for (const name of Object.keys(now)) {
                if (before[name] !== undefined) assert.strictEqual(now[name], before[name], `step ${step}: ${name} was renumbered`);
            }
            // Distinct tunnel subnets and ports per link, distinct addresses per node.
            const all = p.links.flatMap((l) => [l.tunnelSubnet, `port ${l.ends[0].port}`, ...l.ends.map((e) => e.address)]);
            assert.strictEqual(new Set(all).size, all.length, `step ${step}: a value is given twice`);
            assert.deepStrictEqual(p.allocations.changes.changed, [], `step ${step}`);
            recorded = p.allocations.record; // npm run allocate, as the pull-request check requires
            before = now;
        }
    });
});

describe("npm run allocate", () => {
    const ROOT = path.join(__dirname, "..", "..");
    const allocate = (cwd: string, ...args: string[]) => {
        const result = spawnSync(
            process.execPath,
            [require.resolve("ts-node/dist/bin"), "--transpile-only", path.join(ROOT, "commands", "allocate.ts"), ...args],
            { cwd, encoding: "utf8", timeout: 60_000 },
        );
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    };

    it("records the links, then --check passes until the links change", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-allocate-"));
        try {
            const raw = { ...topologyWith(["alpha", "bravo"].map(spec)), allocations: "plumr/allocations.json" };
            fs.writeFileSync(path.join(dir, "topology.yaml"), YAML.stringify(raw));
            assert.strictEqual(allocate(dir, "topology.yaml", "--check").status, 1, "no file yet");
            const written = allocate(dir, "topology.yaml");
            assert.strictEqual(written.status, 0, written.output);
            assert.match(written.output, /wrote plumr\/allocations.json: new links alpha, bravo/);
            const file = JSON.parse(fs.readFileSync(path.join(dir, "plumr", "allocations.json"), "utf8"));
            assert.deepStrictEqual(Object.keys(file.links), ["alpha", "bravo"]);
            assert.strictEqual(allocate(dir, "topology.yaml", "--check").status, 0);

            raw.links.pop();
            fs.writeFileSync(path.join(dir, "topology.yaml"), YAML.stringify(raw));
            const stale = allocate(dir, "topology.yaml", "--check");
            assert.strictEqual(stale.status, 1);
            assert.match(stale.output, /not current: removed links bravo\. Run npm run allocate -- topology.yaml and commit it/);
            assert.deepStrictEqual(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, "plumr", "allocations.json"), "utf8")).links), [
                "alpha",
                "bravo",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("allocates each environment's topology into a file of its own", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-allocate-"));
        try {
            const raw = topologyWith(["alpha", "bravo"].map(spec));
            fs.writeFileSync(
                path.join(dir, "Pulumi.yaml"),
                YAML.stringify({ name: "plumr", runtime: "nodejs", config: { "plumr:topology": { value: raw } } }),
            );
            const environment = (name: string, pool: string) => {
                fs.mkdirSync(path.join(dir, "environments", name), { recursive: true });
                fs.writeFileSync(path.join(dir, "environments", name, "topology.yaml"), YAML.stringify({ tunnel: { pool } }));
            };
            environment("staging", "10.5.0.0/24");
            environment("production", "10.6.0.0/24");
            const written = allocate(dir);
            assert.strictEqual(written.status, 0, written.output);
            const subnets = (file: string) =>
                Object.values<any>(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")).links).map((l) => l.tunnelSubnet);
            assert.ok(!fs.existsSync(path.join(dir, "plumr", "allocations.json")), "Pulumi.yaml's topology is only the shared part");
            assert.deepStrictEqual(subnets("environments/staging/allocations.json"), ["10.5.0.0/30", "10.5.0.4/30"]);
            assert.deepStrictEqual(subnets("environments/production/allocations.json"), ["10.6.0.0/30", "10.6.0.4/30"]);
            assert.strictEqual(allocate(dir, "--check").status, 0);

            environment("staging", "10.7.0.0/24");
            const stale = allocate(dir, "--check");
            assert.strictEqual(stale.status, 1);
            assert.match(
                stale.output,
                /environments\/staging\/allocations.json is not current: .*Run npm run allocate -- --environment staging/,
            );
            assert.match(stale.output, /environments\/production\/allocations.json is current/);
            assert.strictEqual(allocate(dir, "--environment", "production", "--check").status, 0, "one environment alone");
            const one = allocate(dir, "--environment", "staging");
            assert.strictEqual(one.status, 0, one.output);
            assert.deepStrictEqual(subnets("environments/staging/allocations.json"), ["10.7.0.0/30", "10.7.0.4/30"]);
            assert.match(allocate(dir, "--environment", "qa").output, /no such environment[\s\S]*one of production, staging/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("finds the shipped allocations files current: the project's and the examples', environments included", () => {
        const topologies = [
            "Pulumi.yaml",
            "examples/pinned/topology.yaml",
            "examples/hub-and-spoke/topology.yaml",
            "examples/full-mesh/topology.yaml",
        ];
        for (const file of topologies) {
            const topology = parseTopology(readTopologyFile(path.join(ROOT, file)));
            const text = fs.readFileSync(path.join(ROOT, topology.allocations), "utf8");
            const addressing = planAllocations(topology, text);
            assert.strictEqual(formatAllocations(addressing.record), text, `${file}: run npm run allocate -- ${file}`);
        }
        const example = path.join(ROOT, "examples", "environments");
        for (const env of projectEnvironments(path.join(example, "Pulumi.yaml"))) {
            const topology = parseTopology(environmentTopology(env, path.join(example, "Pulumi.yaml")));
            const text = fs.readFileSync(path.join(example, topology.allocations), "utf8");
            const addressing = planAllocations(topology, text);
            assert.strictEqual(formatAllocations(addressing.record), text, `run npm run allocate -- --cwd examples/environments`);
        }
    });
});
