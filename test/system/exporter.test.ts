// The links' metrics exporter (components/scripts/plumr-exporter.sh), run for real: as an
// unprivileged user, as the first process of a PID and network namespace of its own (as a
// container runs it), with link ends whose peer answers, whose peer is silent, and whose device is gone.
import * as assert from "assert";
import { ChildProcess, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { eventually, isRoot, sleep, startAsPid1, stop } from "../support/pid1";

const EXPORTER = path.join(__dirname, "..", "..", "components", "scripts", "plumr-exporter.sh");
const STAND_INS = path.join(__dirname, "..", "..", "dev", "stand-ins");

/** The exporter's page, as a scrape gets it, from inside the namespace of `pid`. */
function scrape(pid: number): string {
    const result = spawnSync("nsenter", ["--target", String(pid), "--net", "socat", "-T", "5", "-", "TCP:127.0.0.1:9464"], {
        input: "GET /metrics HTTP/1.0\r\n\r\n",
        encoding: "utf8",
        timeout: 10_000,
    });
    return result.stdout;
}

/** The value of one series, by its metric and link, or undefined when the page has none. */
function value(page: string, metric: string, link: string): number | undefined {
    const line = page.split("\n").find((l) => l.startsWith(`${metric}{link="${link}"`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("plumr-exporter.sh, the endpoint pod's metrics (root)", function () {
    this.timeout(60_000);
    let unshare: ChildProcess | undefined;
    let pid: number;
    let page = "";
    let dir: string;

    before(async function () {
        if (!isRoot()) {
            console.log("    skipped: namespaces of its own need root");
            this.skip();
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumr-exporter-"));
        // The metrics directory, writable by the exporter's user.
        fs.chmodSync(dir, 0o755);
        fs.mkdirSync(path.join(dir, "metrics"));
        fs.chownSync(path.join(dir, "metrics"), 65534, 65534);
        // Three link ends: `answers` reaches its peer (its own address, as a peer that answers at once),
        // `silent` has a peer that never answers, `gone` a device that does not exist.
        const links = [
            ["tun-answers", "10.4.0.1", "10.4.0.1", 'link="answers",site="ohio",peer_site="mumbai"'],
            ["tun-silent", "10.4.0.5", "10.4.0.6", 'link="silent",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="spoke"'],
            ["tun-gone", "10.4.0.9", "10.4.0.10", 'link="gone",site="ohio",peer_site="delhi"'],
            // `later` answers once its address is given to its device, as a link whose peer comes up after it.
            ["tun-later", "10.4.0.13", "10.4.0.13", 'link="later",site="ohio",peer_site="tokyo"'],
        ];
        // ping without its file capability, as the endpoint's image has it (unpacked without them).
        fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
        fs.copyFileSync(spawnSync("sh", ["-c", "command -v ping"], { encoding: "utf8" }).stdout.trim(), path.join(dir, "bin", "ping"));
        fs.chmodSync(path.join(dir, "bin", "ping"), 0o755);
        const setup = [
            // Its own /sys, to read its own devices' counters.
            "mount -t sysfs none /sys",
            "ip link set lo up",
            // tun devices that no plumr reads: what is sent through them is dropped.
            "ip tuntap add tun-answers mode tun && ip addr add 10.4.0.1/30 dev tun-answers && ip link set tun-answers up",
            "ip tuntap add tun-silent mode tun && ip addr add 10.4.0.5/30 dev tun-silent && ip link set tun-silent up",
            "ip tuntap add tun-later mode tun && ip link set tun-later up",
            // What the endpoint pod's sysctl allows its users: ping without privilege.
            "sysctl -qw net.ipv4.ping_group_range='0 2147483647'",
            `exec setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all sh ${EXPORTER} ${links
                .flat()
                .map((arg) => `'${arg}'`)
                .join(" ")}`,
        ].join(" && ");
        const started = await startAsPid1(["--net", "--mount", "sh", "-c", setup], {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            PLUMR_METRICS_ADDRESS: "127.0.0.1",
            PLUMR_PROBE_INTERVAL_SECONDS: "1",
            PLUMR_BIN_DIR: STAND_INS,
            PLUMR_METRICS_DIR: path.join(dir, "metrics"),
        });
        unshare = started.unshare;
        pid = started.pid;
        // Two rounds, so that the loss ratio is over more than one.
        await eventually(
            "a page after two probe rounds",
            () => {
                const text = scrape(pid);
                const stamp = value(text, "plumr_link_probe_timestamp_seconds", "answers");
                if (stamp === undefined) return undefined;
                page = text;
                return text;
            },
            20_000,
        );
        await sleep(2_500);
        page = scrape(pid);
    });
    after(() => {
        unshare?.kill("SIGKILL");
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("serves Prometheus's text format, each family once, each link end with its labels", () => {
        assert.match(page, /^HTTP\/1\.0 200 OK\r\nContent-Type: text\/plain; version=0\.0\.4\r\n/);
        const families = [...page.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
        assert.deepStrictEqual(families, [
            "plumr_link_up gauge",
            "plumr_link_rtt_seconds gauge",
            "plumr_link_probe_loss_ratio gauge",
            ...["receive", "transmit"].flatMap((d) =>
                ["bytes", "packets", "errors", "dropped"].map((c) => `plumr_link_tun_${d}_${c}_total counter`),
            ),
            "plumr_link_probe_timestamp_seconds gauge",
        ]);
        assert.match(page, /^plumr_link_up\{link="silent",site="ohio",peer_site="mumbai",endpoint="hub",peer_endpoint="spoke"\} 0$/m);
    });

    it("says a link is up, with its round trip, only when its peer answers", () => {
        assert.strictEqual(value(page, "plumr_link_up", "answers"), 1);
        assert.ok(value(page, "plumr_link_rtt_seconds", "answers")! > 0);
        assert.strictEqual(value(page, "plumr_link_probe_loss_ratio", "answers"), 0);
        for (const link of ["silent", "gone"]) {
            assert.strictEqual(value(page, "plumr_link_up", link), 0, link);
            assert.strictEqual(value(page, "plumr_link_rtt_seconds", link), undefined, link);
            assert.strictEqual(value(page, "plumr_link_probe_loss_ratio", link), 1, link);
        }
    });

    it("reads each device's counters, and none of a device that is gone", () => {
        // The silent peer's probes went to its device, which dropped them: no plumr reads it.
        assert.ok(value(page, "plumr_link_tun_transmit_dropped_total", "silent")! > 0);
        assert.strictEqual(value(page, "plumr_link_tun_transmit_packets_total", "silent"), 0);
        assert.strictEqual(value(page, "plumr_link_tun_receive_errors_total", "silent"), 0);
        assert.strictEqual(value(page, "plumr_link_tun_transmit_packets_total", "gone"), undefined);
    });

    it("stamps each round, so that a stale exporter shows", () => {
        const now = Date.now() / 1000;
        const stamp = value(page, "plumr_link_probe_timestamp_seconds", "gone")!;
        assert.ok(stamp > now - 10 && stamp <= now + 1, `${stamp} is a recent time`);
    });

    it("counts no loss before the link's first reply: once its peer answers, its loss ratio starts at 0", async () => {
        assert.strictEqual(value(page, "plumr_link_up", "later"), 0);
        assert.strictEqual(value(page, "plumr_link_probe_loss_ratio", "later"), 1, "before any reply, the round's own loss");
        const added = spawnSync("nsenter", ["--target", String(pid), "--net", "ip", "addr", "add", "10.4.0.13/30", "dev", "tun-later"]);
        assert.strictEqual(added.status, 0, String(added.stderr));
        const up = await eventually(
            "link later up",
            () => (value(scrape(pid), "plumr_link_up", "later") === 1 ? scrape(pid) : undefined),
            20_000,
        );
        assert.strictEqual(value(up, "plumr_link_probe_loss_ratio", "later"), 0);
    });

    it("stops at once on SIGTERM, as a container's first process", async () => {
        const [child, target] = [unshare!, pid];
        unshare = undefined;
        assert.deepStrictEqual(await stop(child, target), { code: 0, signal: null });
    });
});
