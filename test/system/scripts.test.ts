// The shell scripts the cluster runs, run for real here against temporary directories.
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BinaryPackage, chunkFileName, installerManifest, packageBinary, sha256 } from "../../planner/files/binaries";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, standInBinary } from "../support/harness";
import { eventually, exited, isRoot, startAsPid1, stop } from "../support/pid1";

const SCRIPTS = path.join(__dirname, "..", "..", "components", "scripts");
const STAND_INS = path.join(__dirname, "..", "..", "dev", "stand-ins");

function sh(script: string, env: Record<string, string>, args: string[] = []) {
    const result = spawnSync("/bin/sh", [script, ...args], { env: { PATH: process.env.PATH!, ...env }, encoding: "utf8", timeout: 20_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("install-binaries.sh, how the node agent installs binaries", () => {
    let root: string;
    let dirs: { CHUNKS_DIR: string; MANIFEST_DIR: string; DEST_DIR: string };
    let packages: BinaryPackage[];
    const contents = { plumr: standInBinary("plumr", 9000), shm_printer: standInBinary("shm_printer", 3000) };

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-installer-"));
        dirs = { CHUNKS_DIR: path.join(root, "chunks"), MANIFEST_DIR: path.join(root, "manifest"), DEST_DIR: path.join(root, "host-bin") };
        Object.values(dirs).forEach((d) => fs.mkdirSync(d));
        packages = [packageBinary("plumr", contents.plumr, 2000), packageBinary("shm_printer", contents.shm_printer, 2000)];
        for (const pkg of packages)
            pkg.chunks.forEach((chunk, i) => fs.writeFileSync(path.join(dirs.CHUNKS_DIR, chunkFileName(pkg.name, i)), chunk));
        for (const [file, text] of Object.entries(installerManifest(packages))) fs.writeFileSync(path.join(dirs.MANIFEST_DIR, file), text);
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const install = () => sh(path.join(SCRIPTS, "install-binaries.sh"), dirs);
    const installed = () => fs.readdirSync(dirs.DEST_DIR).sort();

    it("reassembles, verifies and installs every binary, executable", () => {
        assert.ok(packages[0].chunks.length > 1, "the test needs a multi-chunk binary");
        const { status, output } = install();
        assert.strictEqual(status, 0, output);
        assert.deepStrictEqual(installed(), ["plumr", "shm_printer"]);
        assert.deepStrictEqual(fs.readFileSync(path.join(dirs.DEST_DIR, "plumr")), contents.plumr);
        assert.deepStrictEqual(fs.readFileSync(path.join(dirs.DEST_DIR, "shm_printer")), contents.shm_printer);
        assert.strictEqual(fs.statSync(path.join(dirs.DEST_DIR, "plumr")).mode & 0o777, 0o755);
    });

    it("installs only the binaries SUMS_FILE lists", () => {
        const only = path.join(root, "only-shm_printer");
        fs.writeFileSync(only, `${packages[1].sha256}  shm_printer\n`);
        const { status, output } = sh(path.join(SCRIPTS, "install-binaries.sh"), { ...dirs, SUMS_FILE: only });
        assert.strictEqual(status, 0, output);
        assert.deepStrictEqual(installed(), ["shm_printer"]);
    });

    it("replaces an older binary in place", () => {
        fs.writeFileSync(path.join(dirs.DEST_DIR, "plumr"), "old version");
        assert.strictEqual(install().status, 0);
        assert.deepStrictEqual(fs.readFileSync(path.join(dirs.DEST_DIR, "plumr")), contents.plumr);
    });

    it("installs nothing when a chunk is missing", () => {
        fs.writeFileSync(path.join(dirs.DEST_DIR, "plumr"), "old version");
        fs.rmSync(path.join(dirs.CHUNKS_DIR, chunkFileName("plumr", 1)));
        const { status, output } = install();
        assert.notStrictEqual(status, 0);
        assert.match(output, /plumr: found \d+ of \d+ chunks, the chunk set does not add up; nothing was installed/);
        assert.deepStrictEqual(installed(), ["plumr"]);
        assert.strictEqual(fs.readFileSync(path.join(dirs.DEST_DIR, "plumr"), "utf8"), "old version");
    });

    it("installs nothing when a checksum does not match, and leaves no temporary file", () => {
        const tampered = fs.readFileSync(path.join(dirs.MANIFEST_DIR, "SHA256SUMS"), "utf8").replace(packages[1].sha256, "0".repeat(64));
        fs.writeFileSync(path.join(dirs.MANIFEST_DIR, "SHA256SUMS"), tampered);
        const { status, output } = install();
        assert.notStrictEqual(status, 0);
        assert.match(output, /shm_printer: sha256 is [0-9a-f]{64}, expected 0{64}/);
        assert.deepStrictEqual(installed(), [], "plumr was verified but must not be installed alone");
    });
});

describe("plumr-entrypoint.sh, the sidecar's command", () => {
    let root: string;
    beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-entry-"))));
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("execs plumr in the foreground with the rendered config", () => {
        fs.writeFileSync(path.join(root, "plumr"), '#!/bin/sh\necho "plumr pid $$ args $*"\nexit 7\n', { mode: 0o755 });
        fs.writeFileSync(path.join(root, "config.json"), "{}");
        const { status, output } = sh(path.join(SCRIPTS, "plumr-entrypoint.sh"), {
            PLUMR_BIN_DIR: root,
            PLUMR_CONFIG: path.join(root, "config.json"),
        });
        assert.strictEqual(status, 7, "plumr's exit status reaches the kubelet");
        assert.match(output, new RegExp(`plumr pid \\d+ args -f ${root}/config.json`));
    });

    it("waits until the node has exactly the binaries the pod was made for, then starts plumr", async () => {
        const plumr = '#!/bin/sh\necho "plumr v2 args $*"\n';
        fs.writeFileSync(path.join(root, "config.json"), "{}");
        // An older plumr is on the node: the installer has not got here yet.
        fs.writeFileSync(path.join(root, "plumr"), '#!/bin/sh\necho "plumr v1"\n', { mode: 0o755 });
        const child = spawn("/bin/sh", [path.join(SCRIPTS, "plumr-entrypoint.sh")], {
            env: {
                PATH: process.env.PATH!,
                PLUMR_BIN_DIR: root,
                PLUMR_CONFIG: path.join(root, "config.json"),
                PLUMR_SHA256SUMS: `${sha256(plumr)}  plumr`,
                NODE_NAME: "worker-1",
            },
        });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        await eventually("it to wait", () =>
            /waiting for the plumr node agent to put these binaries on node worker-1/.test(output) ? true : undefined,
        );
        const tmp = path.join(root, ".plumr.tmp");
        fs.writeFileSync(tmp, plumr, { mode: 0o755 });
        fs.renameSync(tmp, path.join(root, "plumr"));
        const { code } = await exited(child, 5_000);
        assert.strictEqual(code, 0, output);
        assert.match(output, /plumr v2 args -f /);
        assert.doesNotMatch(output, /plumr v1/, "never the older binary");
    });

    it("gives up, naming the binaries it waited for, when the node agent does not deliver them", () => {
        fs.writeFileSync(path.join(root, "config.json"), "{}");
        const { status, output } = sh(path.join(SCRIPTS, "plumr-entrypoint.sh"), {
            PLUMR_BIN_DIR: root,
            PLUMR_CONFIG: path.join(root, "config.json"),
            PLUMR_SHA256SUMS: `${"a".repeat(64)}  plumr`,
            PLUMR_BINARIES_WAIT_SECONDS: "1",
            NODE_NAME: "worker-1",
        });
        assert.strictEqual(status, 1);
        assert.match(output, /node worker-1 did not get these binaries within 1s: a{64} plumr; is the plumr node agent ready there\?/);
    });

    it("says what is wrong when the binary is not installed", () => {
        fs.writeFileSync(path.join(root, "config.json"), "{}");
        const { status, output } = sh(path.join(SCRIPTS, "plumr-entrypoint.sh"), {
            PLUMR_BIN_DIR: root,
            PLUMR_CONFIG: path.join(root, "config.json"),
            NODE_NAME: "worker-1",
        });
        assert.strictEqual(status, 1);
        assert.match(output, /plumr is missing or not executable on node worker-1; is the plumr node agent ready there\?/);
    });
});

describe("what the endpoint pod runs stops at once on SIGTERM, even as a container's first process (root)", function () {
    this.timeout(30_000);
    const running: ChildProcess[] = [];
    let dir: string;

    before(function () {
        if (!isRoot()) {
            console.log("    skipped: a new PID namespace needs root");
            this.skip();
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-pid1-"));
    });
    after(() => {
        for (const child of running) child.kill("SIGKILL");
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the default workload command", async () => {
        const { command } = parseTopology(exampleTopology()).sites.ohio.workload;
        const { unshare, pid } = await startAsPid1(command);
        running.push(unshare);
        assert.deepStrictEqual(await stop(unshare, pid), { code: 0, signal: null });
    });

    it("the shm_printer stand-in", async () => {
        const { unshare, pid } = await startAsPid1([path.join(STAND_INS, "shm_printer"), "--name", "plumr_metrics"]);
        running.push(unshare);
        assert.deepStrictEqual(await stop(unshare, pid), { code: 0, signal: null });
    });

    it("the plumr stand-in, with its tunnel up", async () => {
        const config = path.join(dir, "config.json");
        fs.writeFileSync(
            config,
            JSON.stringify({
                tun: { name: "tun", address: "10.4.0.1", prefix_length: 30, mtu: 1400 },
                udp: { local_address: "127.0.0.1", local_port: 5000, remote_address: "127.0.0.1", remote_port: 5001 },
            }),
        );
        // A network namespace of its own too, for its tun device.
        const { unshare, pid } = await startAsPid1([
            "--net",
            "sh",
            "-c",
            `ip link set lo up && exec ${path.join(STAND_INS, "plumr")} -f ${config}`,
        ]);
        running.push(unshare);
        await eventually("the tun device, up with its MTU", () => {
            const link = spawnSync("nsenter", ["--target", String(pid), "--net", "ip", "-o", "link", "show", "tun"], {
                encoding: "utf8",
            }).stdout;
            return /[<,]UP[,>].* mtu 1400 /.test(link) ? true : undefined;
        });
        assert.deepStrictEqual(await stop(unshare, pid), { code: 0, signal: null });
    });
});
