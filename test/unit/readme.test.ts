// The README's commands and files exist: every `npm run <script>` is a script of package.json,
// every `plumr <command>` (or `npx plumr <command>`) a module commands/<command>.ts, and every
// repository path it names (in inline code, code blocks' `--policy-pack`, and links) a file or
// directory of the repository. Each failure names the README's line.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { inlineCode, markdownLines, markdownLinks } from "../support/markdown";

const ROOT = path.join(__dirname, "..", "..");

/** The code of a README: each code block's lines, and each inline code span of the prose, with its line number. */
function codeOf(readme: string): { line: number; code: string; block: boolean }[] {
    return markdownLines(readme).flatMap((l): { line: number; code: string; block: boolean }[] => {
        if (l.fence) return [];
        if (l.code !== undefined) return [{ line: l.number, code: l.text, block: true }];
        return inlineCode(l.text).map((code) => ({ line: l.number, code, block: false }));
    });
}

/**
 * Whether an inline code span names a path of the repository: a path of one or more segments,
 * without placeholders, spaces or URLs, whose first segment is one of the repository's top-level
 * files or directories, or which ends in a file extension the repository uses. Absolute paths,
 * home-relative ones and generated ones (.cache/) are the machine's, not the repository's.
 */
function repositoryPath(code: string, topLevel: Set<string>): string | undefined {
    if (!/^[\w.@/-]+$/.test(code) || /^[/~]|^\.cache\/|^\.\.?\//.test(code) || /^\d/.test(code)) return undefined;
    const first = code.split("/")[0];
    if (topLevel.has(first)) return code;
    if (code.includes("/") && /\.(md|ya?ml|json|ts|js|sh)$/.test(code) && !/^[\w-]+\.[\w.-]+\.[a-z]{2,}\//.test(code)) return code;
    if (/^[A-Z][\w-]*(\.[\w-]+)*\.(md|ya?ml|json)$/.test(code)) return code; // a top-level file such as Pulumi.yaml
    return undefined;
}

/** What may name a path: each word of a code block's line (its commands and comments), without the punctuation around it; an inline span whole. */
const wordsOf = (c: { code: string; block: boolean }) =>
    c.block ? c.code.split(/\s+/).map((w) => w.replace(/^['"(]+|[)'",;:.]+$/g, "")) : [c.code];

/** Everything the README names that does not exist, each as `README.md:<line>: <what>: <why>`. */
export function readmeProblems(root: string, readme: string): string[] {
    const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts ?? {});
    const topLevel = new Set(fs.readdirSync(root).filter((f) => f !== "node_modules" && !f.startsWith(".cache")));
    const problems: string[] = [];
    const exists = (p: string) => fs.existsSync(path.join(root, p));
    for (const { line, code, block } of codeOf(readme)) {
        for (const m of code.matchAll(/\bnpm run ([\w:.-]+)/g))
            if (!scripts.includes(m[1])) problems.push(`README.md:${line}: npm run ${m[1]}: package.json has no script ${m[1]}`);
        // `plumr <command>` as a command line: at the start of a code block's line (after a prompt) or of an inline span.
        const plumr = /^(?:\$\s+)?(?:npx\s+)?plumr\s+([a-z][\w-]*)/.exec(block ? code.trim() : code);
        if (plumr && !exists(`commands/${plumr[1]}.ts`))
            problems.push(`README.md:${line}: plumr ${plumr[1]}: no module commands/${plumr[1]}.ts`);
        for (const m of code.matchAll(/--policy-pack[ =](\S+)/g))
            if (!exists(m[1])) problems.push(`README.md:${line}: --policy-pack ${m[1]}: no directory ${m[1]} in the repository`);
        for (const named of wordsOf({ code, block }).map((w) => repositoryPath(w, topLevel)))
            if (named && !exists(named)) problems.push(`README.md:${line}: ${named}: no such file or directory in the repository`);
    }
    for (const { line, target } of markdownLinks(readme)) {
        const file = target.split("#")[0];
        if (file === "" || /^[a-z][a-z0-9+.-]*:/i.test(file)) continue;
        if (!exists(decodeURIComponent(file))) problems.push(`README.md:${line}: ${file}: a link to a file that does not exist`);
    }
    return problems;
}

describe("README.md's commands and files", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

    it("names only npm scripts, plumr commands and repository paths that exist", () => {
        assert.deepStrictEqual(readmeProblems(ROOT, readme), []);
    });

    it("is checked for what it actually names: its scripts, the policy pack and its paths", () => {
        const code = codeOf(readme).map((c) => c.code);
        for (const named of ["npm run demo", "npm run preflight", "npm run verify", "npm run allocate", "--policy-pack policy"])
            assert.ok(
                code.some((c) => c.includes(named)),
                named,
            );
        const topLevel = new Set(fs.readdirSync(ROOT));
        const paths = codeOf(readme).flatMap((c) => wordsOf(c).map((w) => repositoryPath(w, topLevel)));
        for (const p of ["Pulumi.yaml", "plumr/allocations.json", "test/e2e/runbook.test.ts"]) assert.ok(paths.includes(p), p);
        for (const notPath of ["node-role.kubernetes.io/plumr", "10.10.1.0/24", "/var/lib/plumr", ".cache/demo/state", "plumr:topology"])
            assert.ok(!paths.includes(notPath), notPath);
    });

    describe("fails, naming the line, when the README names what does not exist", () => {
        let scratch: string;
        before(() => {
            // A copy of what the README names, to break one thing at a time.
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-readme-"));
            fs.cpSync(ROOT, scratch, { recursive: true, filter: (src) => !/[/\\](node_modules|\.cache|\.git)$/.test(src) });
        });
        after(() => fs.rmSync(scratch, { recursive: true, force: true }));

        const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

        it("a script renamed in package.json", () => {
            const pkg = JSON.parse(fs.readFileSync(path.join(scratch, "package.json"), "utf8"));
            pkg.scripts.verification = pkg.scripts.verify;
            delete pkg.scripts.verify;
            fs.writeFileSync(path.join(scratch, "package.json"), JSON.stringify(pkg));
            const problems = readmeProblems(scratch, readme);
            assert.ok(problems.length > 0);
            assert.ok(
                problems.includes(
                    `README.md:${lineOf(readme, "npm run verify -- ohio")}: npm run verify: package.json has no script verify`,
                ),
                problems.join("\n"),
            );
            fs.copyFileSync(path.join(ROOT, "package.json"), path.join(scratch, "package.json"));
        });

        it("a plumr command without its module", () => {
            const text = readme.replace("npm run preflight -- ohio\n", "npx plumr preflight ohio\nplumr preflights ohio\n");
            assert.deepStrictEqual(readmeProblems(scratch, text), [
                `README.md:${lineOf(text, "plumr preflights")}: plumr preflights: no module commands/preflights.ts`,
            ]);
        });

        it("a path, a linked page and the policy pack that are gone", () => {
            fs.renameSync(path.join(scratch, "plumr", "allocations.json"), path.join(scratch, "plumr", "allocated.json"));
            fs.renameSync(path.join(scratch, "docs", "AWS.md"), path.join(scratch, "docs", "AMAZON.md"));
            fs.renameSync(path.join(scratch, "policy"), path.join(scratch, "policies"));
            const problems = readmeProblems(scratch, readme);
            const first = (needle: string) => lineOf(readme, needle);
            assert.ok(
                problems.includes(
                    `README.md:${first("plumr/allocations.json")}: plumr/allocations.json: no such file or directory in the repository`,
                ),
                problems.join("\n"),
            );
            assert.ok(
                problems.includes(`README.md:${first("(docs/AWS.md")}: docs/AWS.md: a link to a file that does not exist`),
                problems.join("\n"),
            );
            assert.ok(
                problems.includes(
                    `README.md:${first("--policy-pack policy")}: --policy-pack policy: no directory policy in the repository`,
                ),
                problems.join("\n"),
            );
        });
    });
});
