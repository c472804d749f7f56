// The repository's link check: every relative link of every Markdown file points to a file that
// exists, every #anchor to a heading of its page (GitHub's slug), and every external link is a
// well-formed http(s) URL (its form only: no request is made).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { brokenLinks, githubSlug, markdownFiles } from "../support/markdown";

const ROOT = path.join(__dirname, "..", "..");

describe("the repository's link check", () => {
    it("finds every Markdown page, outside node_modules and .cache", () => {
        const files = markdownFiles(ROOT);
        for (const page of ["README.md", "docs/OPERATIONS.md", "examples/README.md", "binaries/README.md"])
            assert.ok(files.includes(page), page);
        assert.deepStrictEqual(
            files.filter((f) => f.split(path.sep).some((part) => part === "node_modules" || part === ".cache")),
            [],
        );
    });

    it("finds no broken link in any Markdown page", () => {
        assert.deepStrictEqual(
            markdownFiles(ROOT).flatMap((file) => brokenLinks(ROOT, file)),
            [],
        );
    });

    it("makes anchors as GitHub does", () => {
        assert.strictEqual(
            githubSlug("Before any change: the preflight (`npm run preflight`)"),
            "before-any-change-the-preflight-npm-run-preflight",
        );
        assert.strictEqual(githubSlug("`plumr:topology` (project level, in `Pulumi.yaml`)"), "plumrtopology-project-level-in-pulumiyaml");
        assert.strictEqual(githubSlug("The node agent's check fails"), "the-node-agents-check-fails");
        assert.strictEqual(githubSlug("Bridge or macvlan? (`npm run bench:underlay`)"), "bridge-or-macvlan-npm-run-benchunderlay");
        assert.strictEqual(githubSlug("Endpoints: one workload, many peers"), "endpoints-one-workload-many-peers");
    });

    it("names the page, the line and the target of each broken link, and leaves code alone", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-links-"));
        try {
            fs.mkdirSync(path.join(dir, "docs"));
            fs.writeFileSync(path.join(dir, "docs", "A.md"), "# A page\n\n## Its `part` two\n\n## Its `part` two\n");
            fs.writeFileSync(
                path.join(dir, "README.md"),
                [
                    "# Top",
                    "[ok](docs/A.md#its-part-two) and [again](docs/A.md#its-part-two-1), [here](#top), [web](https://example.com/x)",
                    "[gone](docs/B.md)",
                    "[no anchor](docs/A.md#its-part-three)",
                    "[no heading here](#nowhere)",
                    "[bad url](http://example)",
                    "```",
                    "[in code](docs/C.md)",
                    "```",
                    "`[inline](docs/D.md)`",
                ].join("\n"),
            );
            assert.deepStrictEqual(brokenLinks(dir, "README.md"), [
                "README.md:3: docs/B.md: no file or directory docs/B.md in the repository",
                "README.md:4: docs/A.md#its-part-three: docs/A.md has no heading with anchor #its-part-three",
                "README.md:5: #nowhere: README.md has no heading with anchor #nowhere",
                "README.md:6: http://example: not a well-formed http(s) link",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
