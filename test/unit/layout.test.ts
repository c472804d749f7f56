// The rooms of the code and the imports between them (docs/DEVELOPMENT.md, the layout): each room
// imports only the rooms below it, no module imports itself through others, and the planner does
// no I/O. Read from the code's own imports, with the TypeScript parser.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..", "..");

/** Each room, and the rooms its modules may import (besides its own, npm packages and Node.js). */
const ALLOWED: Record<string, string[]> = {
    "index.ts": ["program", "planner"],
    program: ["components", "planner"],
    components: ["planner"],
    planner: [],
    policy: ["planner"],
    lib: ["program", "planner"],
    commands: ["lib", "program", "components", "planner", "dev"],
    dev: ["lib", "program", "planner"],
    bench: ["dev", "lib", "program", "components", "planner", "test"],
    test: ["index.ts", "commands", "bench", "dev", "lib", "policy", "program", "components", "planner"],
};

/** Node.js modules that reach outside the process: the planner takes what they would give it as arguments. */
const IO_MODULES = ["fs", "child_process", "os", "net", "http", "https", "dgram", "worker_threads"];

const roomOf = (file: string): string => (file.includes("/") ? file.slice(0, file.indexOf("/")) : file);

/** Every module's imports: the repository's TypeScript files, each with what it imports (resolved) and the packages it loads. */
function readImports(): Map<string, { local: string[]; packages: string[] }> {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"], { cwd: ROOT, encoding: "utf8" })
        .split("\n")
        .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
    const known = new Set(files);
    const result = new Map<string, { local: string[]; packages: string[] }>();
    for (const file of files) {
        const source = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
        const specifiers: string[] = [];
        const visit = (node: ts.Node): void => {
            if (
                (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
                node.moduleSpecifier &&
                ts.isStringLiteral(node.moduleSpecifier)
            ) {
                specifiers.push(node.moduleSpecifier.text);
            } else if (
                ts.isCallExpression(node) &&
                (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
                    (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
                node.arguments.length === 1 &&
                ts.isStringLiteral(node.arguments[0])
            ) {
                specifiers.push(node.arguments[0].text);
            }
            ts.forEachChild(node, visit);
        };
        visit(source);
        const local: string[] = [];
        const packages: string[] = [];
        for (const spec of specifiers) {
            if (!spec.startsWith(".")) {
                packages.push(spec.replace(/^node:/, ""));
                continue;
            }
            const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
            const target = [base, `${base}.ts`, `${base}/index.ts`].find((f) => known.has(f)) ?? base;
            // The project's own files at the root (package.json, its lock) are data anyone may read.
            if (target.includes("/") || known.has(target)) local.push(target);
        }
        result.set(file, { local, packages });
    }
    return result;
}

describe("the rooms of the code", () => {
    const imports = readImports();

    it("import only the rooms below them", () => {
        const wrong: string[] = [];
        for (const [file, { local }] of imports) {
            const room = roomOf(file);
            const allowed = ALLOWED[room];
            assert.ok(allowed, `${file} is in a room the layout does not know (${room}): add it to docs/DEVELOPMENT.md and here`);
            for (const target of local) {
                const other = roomOf(target);
                if (other !== room && !allowed.includes(other)) wrong.push(`${file} imports ${target}`);
            }
        }
        assert.deepStrictEqual(wrong, []);
    });

    it("have no module that imports itself through others", () => {
        const cycles: string[] = [];
        const state = new Map<string, "open" | "done">();
        const stack: string[] = [];
        const visit = (file: string): void => {
            state.set(file, "open");
            stack.push(file);
            for (const target of imports.get(file)?.local ?? []) {
                if (state.get(target) === "open") cycles.push([...stack.slice(stack.indexOf(target)), target].join(" -> "));
                else if (!state.has(target)) visit(target);
            }
            stack.pop();
            state.set(file, "done");
        };
        for (const file of [...imports.keys()].sort()) if (!state.has(file)) visit(file);
        assert.deepStrictEqual(cycles, []);
    });

    it("keep the planner free of I/O: it reads no file, runs no process and opens no connection", () => {
        const io = [...imports]
            .filter(([file]) => roomOf(file) === "planner")
            .flatMap(([file, { packages }]) => packages.filter((p) => IO_MODULES.includes(p)).map((p) => `${file} loads ${p}`));
        assert.deepStrictEqual(io, []);
    });
});
