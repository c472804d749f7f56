// How a change rolls out (planner/environments/rollout.ts, npm run stacks): the stacks the workflow previews
// and deploys come from the repository's environments, in promotion order; each environment's
// order of `pulumi up` converges; a pull request previews only the stacks its files can affect.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { projectStacks, workflowStacks } from "../../commands/stacks";
import { Problems } from "../../planner/problems/errors";
import { affectedStacks, deployRounds, MAX_STAGES, promotionOrder, stages } from "../../planner/environments/rollout";
import { parseTopology } from "../../planner/topology/schema";
import { exampleFile, readTopologyFile, SHIPPED_PROJECT } from "../../lib/topologyFile";
import { runProgram, RunOptions, upInOrder } from "../support/harness";

const ROOT = path.join(__dirname, "..", "..");
const EXAMPLE = path.join(ROOT, "examples", "environments");

/** The stacks a project defines, by its stack files (Pulumi.<stack>.yaml): what the workflow must cover, found another way. */
const stackFiles = (dir: string) =>
    fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();

/** Runs `npm run stacks -- <args>` in `cwd`, as the workflow does; returns what it printed. */
function stacksCommand(cwd: string, ...args: string[]): string {
    const result = spawnSync(
        process.execPath,
        [require.resolve("ts-node/dist/bin"), "--transpile-only", path.join(ROOT, "commands", "stacks.ts"), ...args],
        { cwd, encoding: "utf8", timeout: 60_000 },
    );
    assert.strictEqual(result.status, 0, result.stderr);
    return result.stdout;
}

describe("rolling out", () => {
    describe("npm run stacks", () => {
        it("covers exactly the stacks the example's environments define, staging's stage before production's", () => {
            const { preview, stages: stagesFound } = workflowStacks(EXAMPLE);
            assert.deepStrictEqual([...preview].sort(), stackFiles(EXAMPLE));
            assert.deepStrictEqual(
                stagesFound.map((s) => s.environment),
                ["staging", "production"],
            );
            for (const stage of stagesFound) {
                const own = stackFiles(EXAMPLE).filter((s) => s.startsWith(`${stage.environment}-`));
                assert.deepStrictEqual(
                    [...new Set(stage.order)].sort(),
                    own,
                    `${stage.environment} brings up its own stacks and only those`,
                );
            }
        });

        it("covers the stacks of a project without environments: one per site, in one stage", () => {
            const { preview, environments, stages: stagesFound } = workflowStacks(ROOT);
            assert.deepStrictEqual(preview, ["mumbai", "ohio"]);
            assert.deepStrictEqual(environments, { mumbai: "production", ohio: "production" });
            assert.deepStrictEqual(
                stagesFound.map((s) => s.environment),
                ["production"],
            );
        });

        it("writes the workflow's outputs: the previews, and one stage per deploy job", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-stacks-"));
            try {
                const output = path.join(dir, "output");
                stacksCommand(EXAMPLE, "--github-output", output);
                const outputs = Object.fromEntries(
                    fs
                        .readFileSync(output, "utf8")
                        .trim()
                        .split("\n")
                        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
                );
                assert.deepStrictEqual(Object.keys(outputs), ["preview", ...Array.from({ length: MAX_STAGES }, (_, i) => `stage${i + 1}`)]);
                const previews: { stack: string; environment: string }[] = JSON.parse(outputs.preview);
                assert.deepStrictEqual(previews.map((p) => p.stack).sort(), stackFiles(EXAMPLE));
                for (const { stack, environment } of previews)
                    assert.ok(stack.startsWith(`${environment}-`), `${stack} previews in its own environment, not ${environment}`);
                assert.strictEqual(JSON.parse(outputs.stage1).environment, "staging");
                assert.match(JSON.parse(outputs.stage1).order, /^staging-mumbai staging-ohio /);
                assert.strictEqual(JSON.parse(outputs.stage2).environment, "production");
                assert.strictEqual(outputs.stage3, "", "no third environment");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("previews only what a change since a commit can affect", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-stacks-git-"));
            const git = (...args: string[]) =>
                spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir, encoding: "utf8" });
            const stacks = (ref: string) => JSON.parse(stacksCommand(dir, "--changed-since", ref)).preview;
            try {
                fs.cpSync(EXAMPLE, dir, { recursive: true });
                git("init", "-q");
                git("add", "-A");
                git("commit", "-qm", "base");
                fs.appendFileSync(path.join(dir, "environments", "staging", "topology.yaml"), "# a change\n");
                git("commit", "-qam", "staging");
                assert.deepStrictEqual(stacks("HEAD~1"), ["staging-mumbai", "staging-ohio"]);
                fs.appendFileSync(path.join(dir, "Pulumi.yaml"), "# a change\n");
                git("commit", "-qam", "shared");
                assert.deepStrictEqual(stacks("HEAD~1"), ["staging-mumbai", "staging-ohio", "production-mumbai", "production-ohio"]);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    it("previews the stacks a change's files can affect", () => {
        const environments = projectStacks(EXAMPLE);
        const affected = (...files: string[]) => affectedStacks(files, environments);
        assert.deepStrictEqual(affected("environments/production/topology.yaml"), ["production-mumbai", "production-ohio"]);
        assert.deepStrictEqual(affected("environments/staging/allocations.json"), ["staging-mumbai", "staging-ohio"]);
        assert.deepStrictEqual(affected("Pulumi.production-ohio.yaml"), ["production-ohio"]);
        assert.deepStrictEqual(affected("README.md", "docs/TESTING.md", "test/x.test.ts", "environments/promotion.yaml"), []);
        const all = ["staging-mumbai", "staging-ohio", "production-mumbai", "production-ohio"];
        assert.deepStrictEqual(affected("components/endpoint.ts"), all);
        assert.deepStrictEqual(affected("Pulumi.yaml"), all);
        assert.deepStrictEqual(affected("plumr/config.template.json"), all);
    });

    it("checks the promotion order against the environments there are", () => {
        const problemsOf = (listed: unknown, environments: string[]) => {
            const problems = new Problems();
            const order = promotionOrder(listed, environments, problems);
            return { order, problems: problems.list.map((p) => `${p.field}: ${p.message}`) };
        };
        assert.deepStrictEqual(problemsOf(["staging", "production"], ["production", "staging"]), {
            order: ["staging", "production"],
            problems: [],
        });
        assert.deepStrictEqual(problemsOf(undefined, ["production"]), { order: ["production"], problems: [] });
        assert.match(problemsOf(undefined, ["production", "staging"]).problems[0], /^environments\/promotion.yaml: missing/);
        assert.deepStrictEqual(problemsOf(["staging", "qa", "staging"], ["production", "staging"]).problems, [
            "environments/promotion.yaml[1]: not an environment: there is no environments/<name>/topology.yaml for it",
            "environments/promotion.yaml[2]: listed twice",
            "environments/promotion.yaml: leaves out environment production, so the workflow would never deploy it",
        ]);
        const many = ["a", "b", "c", "d"].slice(0, MAX_STAGES + 1);
        assert.match(problemsOf(many, many).problems.join("\n"), /the workflow deploys at most 3/);
        assert.match(problemsOf("staging", ["staging"]).problems[0], /expected a list/);
    });

    describe("each environment's order of pulumi up converges", () => {
        /** Brings up `order` under mocks, then every stack once more: that last round must change nothing. */
        async function converges(order: string[], options: Partial<RunOptions>) {
            const stacks = [...new Set(order)];
            const { runs } = await upInOrder([...order, ...stacks], options);
            for (const run of runs.slice(-stacks.length))
                assert.deepStrictEqual(run.changed, [], `${run.stack} changes nothing after the order`);
        }

        for (const [name, file] of [
            ["the shipped topology", SHIPPED_PROJECT],
            ["the pinned example", exampleFile("pinned")],
            ["the hub-and-spoke example", exampleFile("hub-and-spoke")],
            ["the full-mesh example", exampleFile("full-mesh")],
        ]) {
            it(name, async () => {
                const topology = readTopologyFile(file);
                const allocations = fs.readFileSync(path.join(ROOT, parseTopology(topology).allocations), "utf8");
                await converges(stages([{ topology: parseTopology(topology) }])[0].order, { topology, allocations });
            });
        }

        it("the environments example, environment by environment", async () => {
            const shared = readTopologyFile(path.join(EXAMPLE, "Pulumi.yaml"));
            shared.binaries.dir = "binaries";
            shared.configTemplate = "plumr/config.template.json";
            const environments = Object.fromEntries(
                ["staging", "production"].map((env) => [
                    env,
                    {
                        patch: YAML.parse(fs.readFileSync(path.join(EXAMPLE, "environments", env, "topology.yaml"), "utf8")),
                        allocations: fs.readFileSync(path.join(EXAMPLE, "environments", env, "allocations.json"), "utf8"),
                    },
                ]),
            );
            for (const stage of workflowStacks(EXAMPLE).stages) {
                await converges(stage.order, { topology: shared, environments, environment: stage.environment });
            }
        });

        it("one round when no site peers through a Transit Gateway", () => {
            const topology = readTopologyFile(SHIPPED_PROJECT);
            for (const site of Object.values<any>(topology.sites)) site.aws = { region: site.aws.region, routing: "none" };
            assert.deepStrictEqual(deployRounds(parseTopology(topology)), [["mumbai", "ohio"]]);
        });
    });

    it("the example runs: each stack of it deploys under mocks", async () => {
        const shared = readTopologyFile(path.join(EXAMPLE, "Pulumi.yaml"));
        shared.binaries.dir = "binaries";
        shared.configTemplate = "plumr/config.template.json";
        const patch = YAML.parse(fs.readFileSync(path.join(EXAMPLE, "environments", "staging", "topology.yaml"), "utf8"));
        const config = YAML.parse(fs.readFileSync(path.join(EXAMPLE, "Pulumi.staging-ohio.yaml"), "utf8")).config;
        const { resources } = await runProgram({
            stack: "staging-ohio",
            topology: shared,
            environments: { staging: { patch }, production: { patch: {} } },
            environment: config["plumr:environment"],
        });
        assert.ok(resources.some((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "ohio-ohio-cam"));
    });
});
