// The container images of the local clusters' real nodes (dev/setup/images.sh): OCI archives that
// `ctr images import` names as images.json says, holding the commands their pods run, and the
// pod sandbox's own process (dev/toolchain/pause/pause.c).
import * as assert from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gunzipSync } from "zlib";
import { BinaryPackage, chunkFileName, installerManifest, packageBinary } from "../../planner/files/binaries";
import { standInBinary } from "../support/harness";
import { childrenOf, eventually, exited, isRoot, startAsPid1, stop } from "../support/pid1";

const ROOT = path.join(__dirname, "..", "..");
const IMAGES_JSON = path.join(ROOT, ".cache", "images", "images.json");
const IMAGE_NAMES = ["pause", "installer", "tools"] as const;
type Images = Record<(typeof IMAGE_NAMES)[number], { name: string; archive: string }>;

const sha256 = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

describe("the pod sandbox's process (dev/toolchain/pause/pause.c)", function () {
    this.timeout(30_000);
    let dir: string;
    let pause: string;
    const running: ChildProcess[] = [];

    before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-pause-"));
        pause = path.join(dir, "pause");
        const gcc = spawnSync("gcc", ["-static", "-Os", "-o", pause, path.join(ROOT, "dev", "toolchain", "pause", "pause.c")], {
            encoding: "utf8",
        });
        if (gcc.status !== 0) {
            console.log(`    skipped: gcc cannot build a static pause here: ${gcc.error ?? gcc.stderr}`);
            return this.skip();
        }
    });
    after(() => {
        running.forEach((child) => child.kill("SIGKILL"));
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const start = () => {
        const child = spawn(pause, [], { stdio: "ignore" });
        running.push(child);
        return child;
    };

    for (const signal of ["SIGTERM", "SIGINT"] as const) {
        it(`blocks until ${signal}, then exits 0 at once`, async () => {
            const child = start();
            assert.deepStrictEqual(await stop(child, child.pid, signal), { code: 0, signal: null }, "it exits by itself, with status 0");
        });
    }

    describe("as PID 1 of the pod's namespace (root)", () => {
        before(function () {
            if (!isRoot()) {
                console.log("    skipped: a new PID namespace needs root");
                this.skip();
            }
        });

        it("still stops on SIGTERM, where a signal left at its default is ignored", async () => {
            const { unshare, pid } = await startAsPid1([pause]);
            running.push(unshare);
            assert.strictEqual((await stop(unshare, pid)).code, 0);
        });

        it("reaps the orphans handed to it, so no zombie outlives its process", async () => {
            const { unshare, pid } = await startAsPid1([pause]);
            running.push(unshare);
            // A shell in the pod's namespace that leaves two children behind, as a container's
            // entrypoint that exits before its background jobs does.
            execFileSync("nsenter", ["--target", String(pid), "--pid", "--", "sh", "-c", "sleep 1 & sleep 1 & exit 0"], {
                stdio: "ignore",
            });
            assert.strictEqual(childrenOf(pid).length, 2, "the orphans became its children");
            await eventually("the exited orphans to be reaped", () => (childrenOf(pid).length === 0 ? true : undefined), 5_000);
            process.kill(pid, "SIGTERM");
            await exited(unshare, 1_000);
        });
    });
});

/** An image archive unpacked, every blob checked against its digest and size. */
interface Unpacked {
    index: any;
    manifest: any;
    config: any;
    rootfs: string;
}

function unpack(archive: string, into: string): Unpacked {
    const layout = path.join(into, "layout");
    const rootfs = path.join(into, "rootfs");
    fs.mkdirSync(layout, { recursive: true });
    fs.mkdirSync(rootfs);
    execFileSync("tar", ["-xf", archive, "-C", layout]);
    const read = (file: string) => JSON.parse(fs.readFileSync(path.join(layout, file), "utf8"));
    const blob = (descriptor: { digest: string; size: number }) => {
        const [algorithm, hex] = descriptor.digest.split(":");
        const file = path.join(layout, "blobs", algorithm, hex);
        const data = fs.readFileSync(file);
        assert.strictEqual(sha256(data), descriptor.digest, `${file} holds what its digest says`);
        assert.strictEqual(data.length, descriptor.size, `${file} has the size its descriptor says`);
        return { file, data };
    };
    assert.deepStrictEqual(read("oci-layout"), { imageLayoutVersion: "1.0.0" });
    const index = read("index.json");
    assert.strictEqual(index.manifests.length, 1, "one image per archive");
    const manifest = JSON.parse(blob(index.manifests[0]).data.toString());
    const config = JSON.parse(blob(manifest.config).data.toString());
    manifest.layers.forEach((layer: any, i: number) => {
        const { file, data } = blob(layer);
        // containerd checks each unpacked layer against the config's diff ID and refuses the image otherwise.
        assert.strictEqual(sha256(gunzipSync(data)), config.rootfs.diff_ids[i], "the layer matches its diff ID");
        execFileSync("tar", ["-xzf", file, "-C", rootfs]);
    });
    return { index, manifest, config, rootfs };
}

describe("the local nodes' images (dev/setup/images.sh)", function () {
    this.timeout(120_000);
    let images: Images;
    let dir: string;
    const unpacked = {} as Record<keyof Images, Unpacked>;

    /** Runs a shell command in an image's filesystem, with the image's own PATH. */
    const inImage = (image: keyof Images, command: string, env: Record<string, string> = {}) => {
        const { config, rootfs } = unpacked[image];
        const PATH = config.config.Env.find((e: string) => e.startsWith("PATH=")).slice("PATH=".length);
        const result = spawnSync("chroot", [rootfs, "/bin/sh", "-c", command], {
            encoding: "utf8",
            env: { PATH, ...env },
            timeout: 20_000,
        });
        return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
    };

    before(function () {
        this.timeout(16 * 60_000);
        if (!isRoot()) {
            console.log("    skipped: building and checking the images needs root (package owners, chroot)");
            return this.skip();
        }
        const build = spawnSync("bash", [path.join(ROOT, "dev", "setup", "images.sh")], { encoding: "utf8", timeout: 15 * 60_000 });
        if (build.status !== 0) {
            const output = `${build.error ?? ""}${build.stdout}${build.stderr}`.trim().split("\n").slice(-15).join("\n");
            if (!fs.existsSync(IMAGES_JSON)) {
                console.log(`    skipped: dev/setup/images.sh could not build the images here:\n${output}`);
                return this.skip();
            }
            assert.fail(`dev/setup/images.sh failed:\n${output}`);
        }
        images = JSON.parse(fs.readFileSync(IMAGES_JSON, "utf8"));
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-images-"));
        for (const name of IMAGE_NAMES) unpacked[name] = unpack(images[name].archive, path.join(dir, name));
    });
    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    it("lists each image's name, tagged by its inputs, and its archive", () => {
        assert.deepStrictEqual(Object.keys(images), [...IMAGE_NAMES]);
        for (const name of IMAGE_NAMES) {
            const tag = images[name].name.match(new RegExp(`^plumr\\.local/${name}:([0-9a-f]{12})$`))?.[1];
            assert.ok(tag, images[name].name);
            assert.strictEqual(images[name].archive, path.join(ROOT, ".cache", "images", `${name}-${tag}.tar`));
            assert.ok(fs.statSync(images[name].archive).isFile());
        }
    });

    for (const name of IMAGE_NAMES) {
        it(`${name}: an OCI layout that ctr imports under images.json's name, for linux/amd64`, () => {
            const { index, manifest, config } = unpacked[name];
            const [descriptor] = index.manifests;
            assert.strictEqual(descriptor.mediaType, "application/vnd.oci.image.manifest.v1+json");
            assert.strictEqual(descriptor.annotations["io.containerd.image.name"], images[name].name);
            assert.strictEqual(descriptor.annotations["org.opencontainers.image.ref.name"], images[name].name);
            assert.deepStrictEqual(descriptor.platform, { architecture: "amd64", os: "linux" });
            assert.strictEqual(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
            assert.deepStrictEqual([config.os, config.architecture], ["linux", "amd64"]);
            assert.strictEqual(manifest.layers.length, 1);
        });
    }

    it("pause: runs /pause, the only file, statically linked, stopping cleanly as the sandbox's PID 1", async () => {
        const { config, rootfs } = unpacked.pause;
        assert.deepStrictEqual(config.config.Entrypoint, ["/pause"]);
        assert.deepStrictEqual(fs.readdirSync(rootfs), ["pause"]);
        // Nothing but /pause in its root: a dynamically linked program would find no loader and fail.
        const { unshare, pid } = await startAsPid1(["chroot", rootfs, "/pause"]);
        try {
            assert.strictEqual((await stop(unshare, pid)).code, 0);
        } finally {
            unshare.kill("SIGKILL");
        }
    });

    it("installer: has the commands the node agent uses, and the agent installs with them", () => {
        const { status, output } = inImage(
            "installer",
            'for c in sh chroot gunzip sha256sum sleep cat ls grep cut chmod mv rm sync mkdir mktemp dirname tr sed; do [ -n "$(command -v $c)" ] || { echo "no $c"; exit 1; }; done; sleep 0',
        );
        assert.strictEqual(status, 0, output);

        // The node agent's own scripts, run in the image as the DaemonSet runs them, the image's root standing for the node's.
        const { rootfs } = unpacked.installer;
        const contents = { plumr: standInBinary("plumr", 9000), shm_printer: standInBinary("shm_printer", 3000) };
        const packages: BinaryPackage[] = [
            packageBinary("plumr", contents.plumr, 2000),
            packageBinary("shm_printer", contents.shm_printer, 2000),
        ];
        ["chunks", "manifest"].forEach((d) => fs.mkdirSync(path.join(rootfs, d)));
        for (const pkg of packages)
            pkg.chunks.forEach((chunk, i) => fs.writeFileSync(path.join(rootfs, "chunks", chunkFileName(pkg.name, i)), chunk));
        for (const [file, text] of Object.entries(installerManifest(packages))) fs.writeFileSync(path.join(rootfs, "manifest", file), text);
        for (const script of ["install-binaries.sh", "node-agent.sh"])
            fs.copyFileSync(path.join(ROOT, "components", "scripts", script), path.join(rootfs, "manifest", script));
        const install = inImage("installer", "/bin/sh /manifest/node-agent.sh install", {
            NODE_NAME: "worker-1",
            PLUMR_HOST_ROOT: "/",
            PLUMR_HOST_PATH: "/host-bin",
        });
        assert.strictEqual(install.status, 0, install.output);
        assert.deepStrictEqual(fs.readFileSync(path.join(rootfs, "host-bin", "plumr")), contents.plumr);
        assert.deepStrictEqual(fs.readFileSync(path.join(rootfs, "host-bin", "shm_printer")), contents.shm_printer);
    });

    it("tools: runs ip, socat, ping, iperf3 and jq under /bin/sh (dash), with Debian's PATH", () => {
        const { config, rootfs } = unpacked.tools;
        assert.deepStrictEqual(config.config.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
        assert.strictEqual(fs.readlinkSync(path.join(rootfs, "usr", "bin", "sh")), "dash");
        const { status, stdout, output } = inImage("tools", "ip -V && socat -V && ping -V && iperf3 --version && jq --version");
        assert.strictEqual(status, 0, output);
        for (const expected of ["iproute2", "socat version", "iputils", "iperf 3", "jq-1"])
            assert.ok(stdout.includes(expected), `${expected} in:\n${output}`);
    });

    it("tools: jq reads a JSON config, and ps and pkill are there for the tests", () => {
        const jq = inImage("tools", `printf '%s' '{"tunnel":{"mtu":1452}}' | jq -r .tunnel.mtu`);
        assert.strictEqual(jq.stdout.trim(), "1452", jq.output);
        const tools = inImage("tools", 'for c in ps pkill grep sed sleep; do [ -n "$(command -v $c)" ] || { echo "no $c"; exit 1; }; done');
        assert.strictEqual(tools.status, 0, tools.output);
    });

    it("keeps every image when run again with the same inputs", function () {
        this.timeout(5 * 60_000);
        const before = IMAGE_NAMES.map((name) => fs.statSync(images[name].archive).mtimeMs);
        const again = spawnSync("bash", [path.join(ROOT, "dev", "setup", "images.sh")], { encoding: "utf8", timeout: 4 * 60_000 });
        assert.strictEqual(again.status, 0, `${again.stdout}${again.stderr}`);
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(IMAGES_JSON, "utf8")), images, "the same names and archives");
        assert.deepStrictEqual(
            IMAGE_NAMES.map((name) => fs.statSync(images[name].archive).mtimeMs),
            before,
            "no archive was rewritten",
        );
        assert.match(again.stdout, /tools:[0-9a-f]{12}: cached/);
    });
});
