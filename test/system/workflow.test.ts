// The GitHub Actions workflows: linted with actionlint (built by dev/setup/toolchain.sh), and shaped as
// the stages npm run stacks writes.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { MAX_STAGES } from "../../planner/environments/rollout";

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
        assert.strictEqual(jobs.preview.strategy.matrix.stack, "${{ fromJSON(needs.stacks.outputs.preview) }}");
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
        assert.match(up.run, /for stack in \$ORDER; do[\s\S]*pulumi up --yes --non-interactive --stack "\$stack"/);
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
