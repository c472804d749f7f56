// The GitHub Actions workflow is linted with actionlint (built by scripts/toolchain.sh).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
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

    it("previews every stack on pull requests and ups them in order on main", () => {
        const text = fs.readFileSync(path.join(ROOT, ".github", "workflows", "pulumi.yml"), "utf8");
        assert.match(text, /command: preview[\s\S]*comment-on-pr: true[\s\S]*policyPacks: policy/);
        const ups = [...text.matchAll(/command: up\s+stack-name: (\w+)/g)].map((m) => m[1]);
        // The order test/aws.test.ts shows converging on a model of AWS that refuses what AWS refuses.
        assert.deepStrictEqual(ups, ["ohio", "mumbai", "ohio", "mumbai"]);
    });

    it("checks the allocations file, and previews without checkpoints but never ups without them", () => {
        const text = fs.readFileSync(path.join(ROOT, ".github", "workflows", "pulumi.yml"), "utf8");
        assert.match(text, /run: npm ci && npm run allocate -- --check/);
        const previewJob = text.slice(text.indexOf("\n  preview:"), text.indexOf("\n  up:"));
        const upJob = text.slice(text.indexOf("\n  up:"));
        assert.match(previewJob, /PULUMI_SKIP_CHECKPOINTS: "true"/);
        assert.doesNotMatch(upJob, /PULUMI_SKIP_CHECKPOINTS/, "an up's checkpoints are its state");
    });
});
