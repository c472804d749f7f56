// The GitHub Actions workflows: linted with actionlint (built by dev/setup/toolchain.sh), and shaped as
// the stages npm run stacks writes.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { MAX_STAGES } from "../../planner/environments/rollout";
import versions from "../../dev/toolchain/versions.json";

const ROOT = path.join(__dirname, "..", "..");
const ACTIONLINT = path.join(process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain"), "bin", "actionlint");
const actionlint = (...files: string[]) => spawnSync(ACTIONLINT, ["-no-color", ...files], { encoding: "utf8", timeout: 60_000 });

describe("the GitHub Actions workflow", () => {
    it("passes actionlint", () => {
        const workflows = fs.readdirSync(path.join(ROOT, ".github", "workflows")).map((f) => path.join(ROOT, ".github", "workflows", f));
        assert.ok(workflows.length > 0);
        const result = actionlint(...workflows);
        assert.strictEqual(result.status, 0, result.stdout + result.stderr);
    });

    it("would catch a broken workflow", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-workflow-"));
        try {
            const broken = path.join(dir, "broken.yml");
            fs.writeFileSync(broken, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets.X }\n");
            assert.notStrictEqual(actionlint(broken).status, 0);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    const read = (file: string) => YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8"));

    it("previews the stacks npm run stacks lists, and deploys its stages one after the other, each in its GitHub environment", () => {
        const { jobs } = read("pulumi.yml");
        assert.match(
            jobs.stacks.steps.at(-1).run,
            /npm run stacks -- --github-output "\$GITHUB_OUTPUT" \$\{BASE:\+--changed-since "\$BASE"\}/,
        );
        assert.strictEqual(jobs.preview.strategy.matrix.include, "${{ fromJSON(needs.stacks.outputs.preview) }}");
        const preview = jobs.preview.steps.find((s: any) => s.with?.command === "preview");
        assert.deepStrictEqual(
            [preview.with["stack-name"], preview.with["comment-on-pr"], preview.with.policyPacks],
            ["${{ matrix.stack }}", true, "policy"],
        );
        // One deploy job per stage npm run stacks can write, each after the one before.
        const deploys = Object.keys(jobs).filter((name) => name.startsWith("deploy-"));
        assert.deepStrictEqual(
            deploys,
            Array.from({ length: MAX_STAGES }, (_, i) => `deploy-${i + 1}`),
        );
        assert.deepStrictEqual(Object.keys(jobs.stacks.outputs), ["preview", ...deploys.map((_, i) => `stage${i + 1}`)]);
        deploys.forEach((name, i) => {
            const job = jobs[name];
            assert.strictEqual(job.uses, "./.github/workflows/deploy.yml");
            assert.deepStrictEqual(job.needs, i === 0 ? ["test", "stacks"] : ["stacks", `deploy-${i}`]);
            assert.strictEqual(job.with.environment, `\${{ fromJSON(needs.stacks.outputs.stage${i + 1}).environment }}`);
            assert.strictEqual(job.with.order, `\${{ fromJSON(needs.stacks.outputs.stage${i + 1}).order }}`);
            assert.match(job.if, new RegExp(`refs/heads/main' && needs.stacks.outputs.stage${i + 1} != ''$`));
        });
        const deploy = read("deploy.yml").jobs.up;
        assert.strictEqual(deploy.environment, "${{ inputs.environment }}", "the GitHub environment's approval gates the stage");
        const up = deploy.steps.at(-1);
        assert.strictEqual(up.env.ORDER, "${{ inputs.order }}");
        assert.match(up.run, /for stack in \$ORDER; do[\s\S]*pulumi up --yes --non-interactive --policy-pack policy --stack "\$stack"/);
    });

    const workflowFiles = () => fs.readdirSync(path.join(ROOT, ".github", "workflows"));
    const steps = (file: string) => Object.values<any>(read(file).jobs).flatMap((job) => job.steps ?? []);

    it("previews after the unit tier alone, each stack in its own GitHub environment, and runs the whole suite beside it", () => {
        const { jobs } = read("pulumi.yml");
        assert.ok(jobs.unit.steps.some((s: any) => s.run === "npm run test:unit"));
        assert.deepStrictEqual(jobs.preview.needs, ["unit", "stacks"]);
        assert.strictEqual(jobs.preview.strategy.matrix.include, "${{ fromJSON(needs.stacks.outputs.preview) }}");
        assert.strictEqual(jobs.preview.environment, "${{ matrix.environment }}", "production's preview waits for its approval");
        assert.ok(jobs.test.steps.some((s: any) => /npm test/.test(s.run ?? "")));
    });

    it("runs pulumi/actions v7 with the toolchain's Pulumi CLI everywhere", () => {
        const uses = workflowFiles().flatMap((file) => steps(file).filter((s: any) => /^pulumi\/actions@/.test(s.uses ?? "")));
        assert.ok(uses.length >= 3);
        for (const step of uses) {
            assert.strictEqual(step.uses, "pulumi/actions@v7");
            assert.strictEqual(step.with?.["pulumi-version"], versions.pulumi);
        }
    });

    it("applies the policy pack to every preview and up", () => {
        const runs = workflowFiles().flatMap((file) => steps(file).map((s: any) => s.run ?? ""));
        const commands = runs.flatMap((run) => run.split("\n")).filter((line) => /^\s*pulumi (up|preview)\b/.test(line));
        assert.ok(commands.length >= 2);
        for (const command of commands) assert.match(command, /--policy-pack policy/, command);
        const actions = workflowFiles().flatMap((file) => steps(file).filter((s: any) => s.with?.command));
        for (const step of actions) assert.strictEqual(step.with.policyPacks, "policy", step.with.command);
    });

    it("gives credentials only to jobs that run in a GitHub environment", () => {
        for (const file of workflowFiles()) {
            for (const [name, job] of Object.entries<any>(read(file).jobs)) {
                const text = JSON.stringify(job.steps ?? []);
                if (/secrets\.(PULUMI_ACCESS_TOKEN|AWS_ROLE_ARN)/.test(text))
                    assert.ok(job.environment, `${file}: job ${name} has no environment`);
            }
        }
    });

    it("checks every environment for drift every day, read-only, and opens or updates an issue when a stack drifted", () => {
        const drift = read("drift.yml");
        assert.ok(drift.on.schedule?.[0]?.cron, "on a schedule");
        const checks = Object.keys(drift.jobs).filter((name) => name.startsWith("drift-"));
        assert.deepStrictEqual(
            checks,
            Array.from({ length: MAX_STAGES }, (_, i) => `drift-${i + 1}`),
        );
        checks.forEach((name, i) => {
            assert.strictEqual(drift.jobs[name].uses, "./.github/workflows/drift-check.yml");
            assert.strictEqual(drift.jobs[name].with.environment, `\${{ fromJSON(needs.stacks.outputs.stage${i + 1}).environment }}`);
        });
        const check = read("drift-check.yml").jobs.check;
        assert.strictEqual(check.environment, "${{ inputs.environment }}-drift", "read-only credentials, no approval to wait for");
        const preview = check.steps.find((s: any) => /pulumi preview/.test(s.run ?? ""));
        assert.match(preview.run, /pulumi preview --refresh --expect-no-changes --policy-pack policy/);
        const issue = check.steps.at(-1);
        assert.strictEqual(issue.if, "failure()");
        assert.match(issue.run, /gh issue comment[\s\S]*gh issue create/);
    });

    it("checks the allocations files, and previews without checkpoints but never ups without them", () => {
        const text = fs.readFileSync(path.join(ROOT, ".github", "workflows", "pulumi.yml"), "utf8");
        assert.match(text, /run: npm ci && npm run allocate -- --check/);
        assert.strictEqual(read("pulumi.yml").jobs.preview.steps.at(-1).env.PULUMI_SKIP_CHECKPOINTS, "true");
        assert.doesNotMatch(
            fs.readFileSync(path.join(ROOT, ".github", "workflows", "deploy.yml"), "utf8"),
            /PULUMI_SKIP_CHECKPOINTS/,
            "an up's checkpoints are its state",
        );
    });
});
