// The local files the topology points at (binaries.dir, configTemplate, allocations): checked for
// what they must be and hold, not only for being there.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHUNK_BYTES, GZIP_LEVEL, gzipShipped, packageBinary, sha256 } from "../../planner/files/binaries";
import { ConfigError, Problem } from "../../planner/problems/errors";
import { cacheEntry, cachedGzip } from "../../program/gzipCache";
import { Architecture, inspectExecutable } from "../../planner/files/executables";
import { LocalFiles } from "../../planner/files/localFiles";
import { readLocalFiles } from "../../program/localFiles";
import { planTopology } from "../../planner/plan";
import { parseTopology, Topology } from "../../planner/topology/schema";
import { exampleTopology, plannerFiles, standInBinary } from "../support/harness";

const REPO = path.join(__dirname, "..", "..");
const TEMPLATE = fs.readFileSync(path.join(REPO, "plumr", "config.template.json"), "utf8");
const T = "plumr:topology";

/** The problems planning the shipped topology with `files` finds: none when it plans. */
function problemsWith(files: LocalFiles, topology: Topology = parseTopology(exampleTopology())): Problem[] {
    try {
        planTopology(topology, files);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
}

/** The one problem for `field` whose message matches `message`; fails listing them all otherwise. */
function problemFor(problems: Problem[], field: string, message: RegExp): Problem {
    const found = problems.filter((p) => p.field === field && message.test(p.message));
    assert.strictEqual(
        found.length,
        1,
        `expected one problem for ${field} matching ${message}, got:\n${JSON.stringify(problems, null, 2)}`,
    );
    assert.ok(found[0].fix.trim().length > 0, "the problem has a fix");
    return found[0];
}

/** A project directory laid out as the topology says, each entry a file (text or bytes), a directory ({}), or nothing. */
function project(entries: Record<string, string | Buffer | Record<string, never>>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-files-"));
    for (const [name, content] of Object.entries(entries)) {
        const file = path.join(dir, name);
        if (typeof content === "string" || Buffer.isBuffer(content)) {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, content);
        } else {
            fs.mkdirSync(file, { recursive: true });
        }
    }
    return dir;
}

/** What a complete project holds: the shipped template and stand-in binaries, no allocations file. */
const complete = () => ({
    "plumr/config.template.json": TEMPLATE,
    "binaries/plumr": standInBinary("plumr", 3000),
    "binaries/shm_printer": standInBinary("shm_printer", 3000),
});

/** Reads a project directory as the program does, plans it, and removes the directory. */
function problemsInProject(entries: Record<string, string | Buffer | Record<string, never>>, raw = exampleTopology()): Problem[] {
    const dir = project(entries);
    try {
        const topology = parseTopology(raw);
        return problemsWith(readLocalFiles(topology, dir), topology);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** An ELF header: 64-bit unless `elfClass` is 1, little-endian, the given type and machine. */
function elfHeader(machine: number, { elfClass = 2, type = 2 } = {}): Buffer {
    const header = Buffer.alloc(elfClass === 2 ? 64 : 52);
    header.set([0x7f, 0x45, 0x4c, 0x46, elfClass, 1, 1]);
    header.writeUInt16LE(type, 16);
    header.writeUInt16LE(machine, 18);
    header.writeUInt32LE(1, 20);
    return Buffer.concat([header, Buffer.alloc(200, 0x90)]);
}

/** The problem with plumr when it is `content` (and shm_printer a script), for nodes of `architecture`. */
function plumrProblem(content: Buffer, architecture: Architecture = "amd64", message = /./): Problem {
    const raw = exampleTopology();
    raw.binaries.architecture = architecture;
    const shmPrinter = Buffer.from("#!/bin/sh\nexit 0\n");
    const problems = problemsWith(plannerFiles({ binaries: { plumr: content, shm_printer: shmPrinter } }), parseTopology(raw));
    assert.strictEqual(problems.length, 1, JSON.stringify(problems, null, 2));
    return problemFor(problems, `${T}.binaries.dir`, message);
}

/** The machine this test runs on, as the nodes' architecture, and the other one. */
const HERE: Architecture = process.arch === "arm64" ? "arm64" : "amd64";
const OTHER: Architecture = HERE === "amd64" ? "arm64" : "amd64";

describe("local files: directories are directories, files are files", () => {
    it("accepts a complete project, with no allocations file yet (npm run allocate creates it)", () => {
        assert.deepStrictEqual(problemsInProject(complete()), []);
    });

    it("rejects binaries.dir that is a file, or that does not exist, telling them apart", () => {
        const { "binaries/plumr": plumr } = complete();
        const asFile = problemFor(
            problemsInProject({ "plumr/config.template.json": TEMPLATE, binaries: plumr }),
            `${T}.binaries.dir`,
            /binaries is a file, not a directory/,
        );
        assert.strictEqual(asFile.value, "binaries");
        const raw = exampleTopology();
        raw.binaries.dir = "binaries/plumr";
        const isTheBinary = problemFor(problemsInProject(complete(), raw), `${T}.binaries.dir`, /plumr is a file, not a directory/);
        assert.match(isTheBinary.fix, /set binaries\.dir to binaries\b/);
        const missing = problemsInProject({ "plumr/config.template.json": TEMPLATE });
        const problem = problemFor(missing, `${T}.binaries.dir`, /no such directory: nothing is at \S*\/binaries\b/);
        assert.match(problem.fix, /mkdir -p \S*\/binaries/);
        assert.strictEqual(missing.length, 1, "one problem for the missing directory, not one per binary");
    });

    it("rejects a configTemplate that is a directory, and says so apart from a missing one", () => {
        const entries = { ...complete(), "plumr/config.template.json": {} };
        const problem = problemFor(problemsInProject(entries), `${T}.configTemplate`, /config\.template\.json is a directory, not a file/);
        assert.strictEqual(problem.value, "plumr/config.template.json");
        assert.match(problem.fix, /plumr\/config\.template\.json\/config\.template\.json/);
        const missing = { ...complete(), "plumr/config.template.json": undefined } as any;
        delete missing["plumr/config.template.json"];
        problemFor(problemsInProject(missing), `${T}.configTemplate`, /no such file: nothing is at \S*config\.template\.json/);
    });

    it("rejects an allocations path that is a directory", () => {
        const problem = problemFor(
            problemsInProject({ ...complete(), "examples/pinned/allocations.json": {} }),
            `${T}.allocations`,
            /allocations\.json is a directory, not a file/,
        );
        assert.strictEqual(problem.value, "examples/pinned/allocations.json");
        assert.match(problem.fix, /npm run allocate/);
    });
});

describe("local files: the CNI plugins binaries.cniPlugins ships", () => {
    const withPlugins = (dir = "cni") => {
        const raw = exampleTopology();
        raw.binaries.cniPlugins = dir;
        return raw;
    };
    const script = "#!/bin/sh\nexit 0\n";

    it("accepts a directory with the plugins the attachments need, and ships exactly those", () => {
        const dir = project({ ...complete(), "cni/bridge": script, "cni/static": script, "cni/host-local": script });
        try {
            const topology = parseTopology(withPlugins());
            const plan = planTopology(topology, readLocalFiles(topology, dir));
            assert.deepStrictEqual(
                plan.binaries.cniPackages.map((p) => p.name),
                ["bridge", "static"],
            );
            assert.deepStrictEqual(plan.sites.ohio.cniPlugins, ["bridge", "static"]);
            assert.strictEqual(plan.sites.ohio.cniBinDir, "/var/lib/cni/bin", "OpenShift's Multus directory");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("rejects a missing directory, a missing plugin and a plugin for another machine, each named", () => {
        problemFor(problemsInProject(complete(), withPlugins()), `${T}.binaries.cniPlugins`, /no such directory: nothing is at \S*\/cni\b/);
        const missing = problemFor(
            problemsInProject({ ...complete(), "cni/bridge": script }, withPlugins()),
            `${T}.binaries.cniPlugins`,
            /the static CNI plugin is missing: no file \S*\/cni\/static/,
        );
        assert.match(missing.fix, /containernetworking\/plugins release \(cni-plugins-linux-amd64\)/);
        problemFor(
            problemsInProject({ ...complete(), "cni/bridge": elfHeader(183), "cni/static": script }, withPlugins()),
            `${T}.binaries.cniPlugins`,
            /cni\/bridge .*AArch64|cni\/bridge .*arm64/,
        );
    });

    it("takes cniBinDir as an absolute, normalized directory, and defaults it by platform", () => {
        const raw = exampleTopology();
        raw.sites.ohio.platform = "kubernetes";
        raw.sites.mumbai.cniBinDir = "/usr/libexec/cni";
        const plan = planTopology(parseTopology(raw), plannerFiles());
        assert.strictEqual(plan.sites.ohio.cniBinDir, "/opt/cni/bin");
        assert.strictEqual(plan.sites.mumbai.cniBinDir, "/usr/libexec/cni");
        raw.sites.mumbai.cniBinDir = "opt/cni/bin";
        assert.throws(
            () => parseTopology(raw),
            (err: ConfigError) => {
                problemFor(err.problems, `${T}.sites.mumbai.cniBinDir`, /a relative path/);
                return true;
            },
        );
    });
});

describe("local files: the binaries are executables for the nodes", () => {
    it("accepts a real ELF program of this machine for its architecture, and rejects it for the other", () => {
        const real = fs.readFileSync("/bin/true");
        assert.strictEqual(inspectExecutable(real, HERE), undefined);
        const finding = inspectExecutable(real, OTHER, "plumr");
        assert.ok(finding, `/bin/true passed for ${OTHER}`);
        assert.match(finding.message, HERE === "amd64" ? /built for x86-64 \(amd64\)/ : /built for AArch64 \(arm64\)/);
        assert.match(finding.message, new RegExp(`the nodes are ${OTHER}`));
        assert.match(finding.fix, new RegExp(`Linux ${OTHER} build of plumr.*set binaries\\.architecture to ${HERE}`));
        // And through the plan, where the problem names the file.
        const problem = plumrProblem(real, OTHER);
        assert.match(problem.message, /^\/project\/binaries\/plumr is an ELF program built for/);
        assert.strictEqual(problem.value, "binaries");
    });

    it("rejects an ELF header for the wrong machine, naming both machines", () => {
        const problem = plumrProblem(elfHeader(183), "amd64");
        assert.match(problem.message, /built for AArch64 \(arm64\), but the nodes are amd64/);
        assert.match(problem.fix, /set binaries\.architecture to arm64/);
        const riscv = plumrProblem(elfHeader(243), "arm64");
        assert.match(riscv.message, /built for RISC-V, but the nodes are arm64/);
        assert.strictEqual(inspectExecutable(elfHeader(183), "arm64"), undefined, "the same header passes for arm64 nodes");
    });

    it("rejects a 32-bit ELF, even for the nodes' machine family", () => {
        assert.match(
            plumrProblem(elfHeader(3, { elfClass: 1 })).message,
            /is a 32-bit ELF built for x86 \(i386, 32-bit\).*need a 64-bit build/,
        );
        assert.match(plumrProblem(elfHeader(62, { elfClass: 1 })).message, /is a 32-bit ELF/);
    });

    it("rejects an ELF that is not a program: an object file or a core dump", () => {
        assert.match(plumrProblem(elfHeader(62, { type: 1 })).message, /an object file \(\.o\)/);
        assert.match(plumrProblem(elfHeader(62, { type: 4 })).message, /a core dump/);
        assert.strictEqual(inspectExecutable(elfHeader(62, { type: 3 }), "amd64"), undefined, "a shared object (PIE) passes");
    });

    it("rejects a Git LFS pointer, telling how to fetch the file", () => {
        const pointer =
            "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345678\n";
        const problem = plumrProblem(Buffer.from(pointer));
        assert.match(problem.message, /is a Git LFS pointer to a file of 12345678 bytes, not the binary itself/);
        assert.match(problem.fix, /git lfs pull/);
    });

    it("rejects an HTML page saved by a failed download, and other text", () => {
        const page = "<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>\n";
        const problem = plumrProblem(Buffer.from(page));
        assert.match(problem.message, /is a web page \("<!DOCTYPE html>"\), not the binary/);
        assert.match(problem.fix, /download plumr again/);
        const readme = plumrProblem(Buffer.from("# plumr\n\nPut the plumr binary here.\n"));
        assert.match(readme.message, /is a text file starting "# plumr", neither an ELF executable nor a script/);
    });

    it("rejects bytes that are neither ELF nor a script, such as an archive", () => {
        assert.match(plumrProblem(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])).message, /is a gzip archive/);
        assert.match(plumrProblem(Buffer.from([0x01, 0x02, 0x03, 0x04, 0x00, 0x9f])).message, /starts with the bytes 01 02 03 04/);
    });

    it("accepts a #!/bin/sh script, the shipped stand-ins and the test stand-in binary", () => {
        assert.strictEqual(inspectExecutable(Buffer.from("#!/bin/sh\nexec sleep infinity\n"), "amd64"), undefined);
        assert.strictEqual(inspectExecutable(Buffer.from("#!/bin/sh\nexec sleep infinity\n"), "arm64"), undefined);
        assert.strictEqual(inspectExecutable(standInBinary("plumr", 3000), "amd64"), undefined);
        const raw = exampleTopology();
        raw.binaries.dir = "dev/stand-ins";
        const topology = parseTopology(raw);
        assert.deepStrictEqual(problemsWith(readLocalFiles(topology, REPO), topology), [], "the stand-ins and the shipped template plan");
    });

    it("keeps rejecting an empty binary", () => {
        plumrProblem(Buffer.alloc(0), "amd64", /\/project\/binaries\/plumr is empty/);
    });
});

describe("local files: the config template makes a well-formed config that differs between the ends", () => {
    const templateProblems = (template: string, templatePath = "/project/plumr/config.template.json") =>
        problemsWith(plannerFiles({ template, templatePath })).filter((p) => p.field === `${T}.configTemplate`);

    it("accepts the shipped template", () => {
        assert.deepStrictEqual(templateProblems(TEMPLATE), []);
    });

    it("rejects a template without {{REMOTE_IP}}, {{LOCAL_IP}} or {{TUN_IP}}: both ends would get the same config", () => {
        for (const name of ["REMOTE_IP", "LOCAL_IP", "TUN_IP"]) {
            const template = TEMPLATE.replace(`"{{${name}}}"`, '"10.20.1.200"');
            assert.notStrictEqual(template, TEMPLATE);
            const problems = templateProblems(template);
            assert.strictEqual(problems.length, 1, JSON.stringify(problems, null, 2));
            assert.match(problems[0].message, new RegExp(`does not use \\{\\{${name}\\}\\}.*both ends of every link get the same`));
            assert.match(problems[0].fix, new RegExp(`put \\{\\{${name}\\}\\} where`));
        }
    });

    it("rejects a .json template with a trailing comma, naming its line and column, not the parser's words", () => {
        const template = TEMPLATE.replace('"mtu": {{MTU}}', '"mtu": {{MTU}},');
        const [problem, ...more] = templateProblems(template);
        assert.deepStrictEqual(more, []);
        assert.match(
            problem.message,
            /^is not valid JSON once its placeholders are filled: line 8, column 19, at ",": a trailing comma after the object's last member/,
        );
        assert.match(problem.fix, /correct line 8 of \/project\/plumr\/config\.template\.json/);
        assert.doesNotMatch(problem.message, /position|Unexpected token|Expected/, "no raw JSON.parse message");
    });

    it("rejects a .json template with a missing quote, on the template's line", () => {
        const key = templateProblems(TEMPLATE.replace('"remote_address": "{{REMOTE_IP}}"', '"remote_address: "{{REMOTE_IP}}"'));
        assert.strictEqual(key.length, 1, JSON.stringify(key, null, 2));
        assert.match(key[0].message, /line 13, column 23, at \{\{REMOTE_IP\}\}: a colon \(:\) is missing after the property name/);
        const value = templateProblems(TEMPLATE.replace('"address": "{{TUN_IP}}"', '"address": "{{TUN_IP}}'));
        assert.strictEqual(value.length, 1, JSON.stringify(value, null, 2));
        assert.match(value[0].message, /line 6, column 16, at "\\"": a string is not closed on its line \(a missing double quote\)/);
        const bare = templateProblems(TEMPLATE.replace('"{{LINK}}"', "{{LINK}}"));
        assert.match(bare[0].message, /line 3, column 11, at \{\{LINK\}\}: not a JSON value; a string needs double quotes around it/);
    });

    it("checks a .yaml template as YAML, and leaves other file names' syntax alone", () => {
        const yaml = 'link: "{{LINK}}"\nlocal: {{LOCAL_IP}}\nremote: {{REMOTE_IP}}\ntun: {address: {{TUN_IP}}, mtu: {{MTU}}}\n';
        assert.deepStrictEqual(templateProblems(yaml, "/project/plumr/config.template.yaml"), []);
        const broken = yaml.replace("mtu: {{MTU}}}", "mtu: [{{MTU}}}");
        const [problem] = templateProblems(broken, "/project/plumr/config.template.yml");
        assert.match(problem.message, /^is not valid YAML once its placeholders are filled: line 4, column \d+/);
        assert.deepStrictEqual(templateProblems(broken, "/project/plumr/config.template.conf"), [], "a format it does not know");
        assert.strictEqual(templateProblems(broken, "/project/plumr/config.template.json").length, 1, "YAML is not JSON");
    });

    it("rejects unbalanced braces such as {{LOCAL_IP} or {LOCAL_IP}}, which would be left in the config", () => {
        const open = templateProblems(TEMPLATE.replace('"{{LOCAL_IP}}"', '"{{LOCAL_IP}"'));
        assert.strictEqual(open.length, 1, JSON.stringify(open, null, 2));
        assert.match(open[0].message, /^line 11 has "\{\{LOCAL_IP\}": it opens a placeholder with \{\{ but does not close it/);
        assert.strictEqual(open[0].fix, "write it {{LOCAL_IP}}");
        const close = templateProblems(TEMPLATE.replace('"{{LOCAL_IP}}"', '"{LOCAL_IP}}"'));
        assert.strictEqual(close.length, 1, JSON.stringify(close, null, 2));
        assert.match(close[0].message, /^line 11 has "\{LOCAL_IP\}\}": it closes a placeholder with \}\} that was not opened/);
        const lone = templateProblems(TEMPLATE.replace('"link": "{{LINK}}"', '"link": "{{"'));
        assert.match(lone[0].message, /^line 3 has "\{\{": it opens a placeholder/);
        // Closing braces of nested objects are not placeholders.
        const compact = '{"tun":{"address":"{{TUN_IP}}","mtu":{{MTU}}},"udp":{"local":"{{LOCAL_IP}}","remote":"{{REMOTE_IP}}"}}';
        assert.deepStrictEqual(templateProblems(compact), []);
    });
});

describe("local files: the binaries' gzip, remembered between runs", () => {
    let dir: string;
    /** Bytes that compress like a program's: some repetition, some noise. */
    const content = (seed: number, size = 300_000) => {
        const bytes = Buffer.alloc(size);
        let x = seed;
        for (let i = 0; i < size; i++) bytes[i] = i % 7 === 0 ? (x = (x * 1103515245 + 12345) % 2 ** 31) & 0xff : i & 0x3f;
        return bytes;
    };
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-gzip-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("gives the shipped gzip, and the second time reads it from an entry named by content, level and zlib", () => {
        const binary = content(1);
        const gzip = cachedGzip(dir);
        const first = gzip(binary);
        assert.ok(first.equals(gzipShipped(binary)));
        const entry = cacheEntry(dir, binary);
        assert.match(
            path.basename(entry),
            new RegExp(`^${sha256(binary)}-${GZIP_LEVEL}-zlib${process.versions.zlib.replace(/\./g, "\\.")}\\.gz$`),
        );
        const written = fs.statSync(entry).ino;
        assert.ok(gzip(binary).equals(first));
        assert.strictEqual(fs.statSync(entry).ino, written, "read, not written again");
        assert.ok(cachedGzip(dir)(binary).equals(first), "a later run reads it too");
    });

    it("makes a damaged entry again, and only costs the time when the cache cannot be written", () => {
        const binary = content(2);
        const gzip = cachedGzip(dir);
        gzip(binary);
        fs.writeFileSync(cacheEntry(dir, binary), "not gzip");
        assert.ok(gzip(binary).equals(gzipShipped(binary)));
        assert.ok(fs.readFileSync(cacheEntry(dir, binary)).equals(gzipShipped(binary)), "the entry is mended");
        const blocked = path.join(dir, "a-file");
        fs.writeFileSync(blocked, "");
        assert.ok(cachedGzip(path.join(blocked, "cache"))(binary).equals(gzipShipped(binary)));
    });

    it("keeps the eight most recently used entries", () => {
        const gzip = cachedGzip(dir);
        for (let seed = 10; seed < 20; seed++) {
            gzip(content(seed, 20_000));
            // A second apart, whatever the file system's clock resolution.
            const used = new Date(Date.UTC(2026, 0, 1, 0, 0, seed));
            fs.utimesSync(cacheEntry(dir, content(seed, 20_000)), used, used);
        }
        assert.strictEqual(fs.readdirSync(dir).length, 8);
        assert.ok(!fs.existsSync(cacheEntry(dir, content(10, 20_000))), "the oldest is gone");
        assert.ok(fs.existsSync(cacheEntry(dir, content(19, 20_000))));
    });

    it("is what a plan from the disk ships with: the same chunks as the shipped gzip", () => {
        const files = readLocalFiles(parseTopology(exampleTopology()), path.join(__dirname, "..", ".."));
        assert.strictEqual(typeof files.compress, "function");
        const binary = standInBinary("plumr", 3000);
        assert.ok(Buffer.concat(packageBinary("plumr", binary, CHUNK_BYTES, files.compress).chunks).equals(gzipShipped(binary)));
    });
});
