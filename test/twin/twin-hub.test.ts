// The data-plane twin (dev/twin/twin.ts) of a hub: one Ohio endpoint with three links, one plumr
// sidecar per link, whose unprivileged workload reaches three Mumbai endpoints by name. One link's
// plumr stopped, the other two links still carry traffic; started again, its link carries it again.
import * as assert from "assert";
import { renderedNamedEndpoints } from "../support/rendered";
import { eventually, inNs, RenderedEndpoint, Supervised, Twin, twinUnavailable, WORKLOAD_UID } from "../../dev/twin/twin";
import { exampleTopology } from "../support/harness";

const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";
const MUMBAI_NODE = "ip-10-1-241-95.ap-south-1.compute.internal";
/** The hub's link to each spoke. */
const LINKS: Record<string, string> = { "cam-a": "hub-a", "cam-b": "hub-b", "cam-c": "hub-c" };
/** The tun device of the hub's link to each spoke, as planned: tun-<peer>. */
const DEVICES: Record<string, string> = { "cam-a": "tun-cam-a", "cam-b": "tun-cam-b", "cam-c": "tun-cam-c" };
const SPOKES = Object.keys(LINKS);
const TUNNEL_MTU = 1452;

/** The shipped two sites, their link replaced by three from a hub in Ohio to three endpoints on one Mumbai node. */
function hubTopology(): any {
    const topology = exampleTopology();
    topology.endpoints = { hub: { site: "ohio", node: OHIO_NODE } };
    for (const spoke of SPOKES) topology.endpoints[spoke] = { site: "mumbai", node: MUMBAI_NODE };
    topology.links = SPOKES.map((spoke) => ({ name: LINKS[spoke], endpoints: ["hub", spoke] }));
    return topology;
}

/** An endpoint's tunnel address on a link: the one its plumr for that link gives its tun device. */
const tunnelAddress = (end: RenderedEndpoint, link: string): string => JSON.parse(end.plumrConfigs[`plumr-${link}`]).tun.address;

/** The tun devices in a pod's namespace, by name, with their MTU. */
function tunDevices(pod: string): Record<string, number> {
    const links = JSON.parse(inNs(pod, ["ip", "-d", "-j", "link", "show"]));
    return Object.fromEntries(links.filter((l: any) => l.linkinfo?.info_kind === "tun").map((l: any) => [l.ifname, l.mtu]));
}

describe("data-plane twin: a hub endpoint with three links", function () {
    this.timeout(180_000);
    const unavailable = twinUnavailable();
    let twin: Twin;
    let ends: Record<string, RenderedEndpoint>;
    /** Each endpoint's pod namespace, by endpoint name. */
    const pods: Record<string, string> = {};
    /** Each endpoint's plumr containers, by endpoint name and container name. */
    const plumrs: Record<string, Record<string, Supervised>> = {};

    /** Pings `name` once from the pod as its workload; the address that answered, or undefined. */
    function answered(pod: string, name: string): string | undefined {
        try {
            return /bytes from ([\d.]+)/.exec(twin.inWorkload(pod, ["ping", "-n", "-c", "1", "-W", "1", name], 5_000))?.[1];
        } catch {
            return undefined;
        }
    }

    before(async function () {
        if (unavailable) {
            console.log(`    skipped: ${unavailable}`);
            return this.skip();
        }
        ends = await renderedNamedEndpoints(hubTopology());
        twin = new Twin("hub", [ends.hub, ends["cam-a"]], "bridge");
        twin.build();
        Object.assign(pods, {
            hub: twin.pod(0),
            "cam-a": twin.pod(1),
            "cam-b": twin.extraPod(1, "camb"),
            "cam-c": twin.extraPod(1, "camc"),
        });
        for (const [name, pod] of Object.entries(pods)) {
            const end = ends[name];
            const site = end.site === "ohio" ? 0 : 1;
            twin.attach(site, end.attachmentConfig, end.networks, pod);
            twin.prepareSandbox(pod, end.podSpec);
            plumrs[name] = Object.fromEntries(
                Object.keys(end.plumrConfigs).map((container) => [container, twin.startPlumr(site, { pod, endpoint: end, container })]),
            );
        }
        await eventually(
            "every link's tun device at the tunnel MTU",
            () =>
                Object.entries(pods).every(([name, pod]) => {
                    const devices = tunDevices(pod);
                    const planned = Object.values(ends[name].plumrConfigs).map((config) => JSON.parse(config).tun.name);
                    return planned.every((device) => devices[device] === TUNNEL_MTU);
                }),
            30_000,
        );
    });

    after(() => twin?.destroy());

    it("runs the workload as user 65534 with no capabilities, whose ping needs the pod's ping_group_range", () => {
        const status = twin.inWorkload(pods.hub, ["cat", "/proc/self/status"]);
        const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)?.[1].split(/\s+/);
        assert.deepStrictEqual(field("Uid"), Array(4).fill(String(WORKLOAD_UID)));
        assert.deepStrictEqual(field("Gid"), Array(4).fill(String(WORKLOAD_UID)));
        for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) assert.deepStrictEqual(field(set), ["0000000000000000"], set);
        assert.deepStrictEqual(field("NoNewPrivs"), ["1"]);

        const ping = ["ping", "-n", "-c", "1", "-W", "1", "127.0.0.1"];
        const bare = twin.extraPod(0, "bare");
        assert.throws(
            () => twin.inWorkload(bare, ping, 5_000),
            (err: any) => /Operation not permitted/.test(String(err.stderr)),
            "refused without the pod's sysctls",
        );
        twin.prepareSandbox(bare, ends.hub.podSpec);
        assert.match(twin.inWorkload(bare, ping, 5_000), /1 received/, "allowed with them");
    });

    it("gives the hub's pod one tun device per link, named after its peer, at the tunnel MTU", () => {
        assert.deepStrictEqual(
            Object.keys(ends.hub.plumrConfigs).sort(),
            SPOKES.map((spoke) => `plumr-${LINKS[spoke]}`),
        );
        for (const spoke of SPOKES)
            assert.strictEqual(JSON.parse(ends.hub.plumrConfigs[`plumr-${LINKS[spoke]}`]).tun.name, DEVICES[spoke], LINKS[spoke]);
        assert.deepStrictEqual(tunDevices(pods.hub), Object.fromEntries(SPOKES.map((spoke) => [DEVICES[spoke], TUNNEL_MTU])));
    });

    it("reaches every spoke by name, <endpoint> and <endpoint>.<site>, from the hub's unprivileged workload", async () => {
        for (const spoke of SPOKES) {
            const address = tunnelAddress(ends[spoke], LINKS[spoke]);
            for (const name of [spoke, `${spoke}.mumbai`])
                await eventually(`${name} to answer the hub from ${address}`, () => answered(pods.hub, name) === address);
        }
    });

    it("reaches the hub by name from each spoke's unprivileged workload, over the spoke's own link", async () => {
        for (const spoke of SPOKES) {
            const address = tunnelAddress(ends.hub, LINKS[spoke]);
            for (const name of ["hub", "hub.ohio"])
                await eventually(`${spoke} to reach ${name} at ${address}`, () => answered(pods[spoke], name) === address);
        }
    });

    it("keeps the other two links carrying traffic while one link's plumr is stopped, and the third once it is started again", async () => {
        const address = (spoke: string) => tunnelAddress(ends[spoke], LINKS[spoke]);
        const hubB = plumrs.hub["plumr-hub-b"];
        const starts = hubB.starts;
        hubB.stop();
        await eventually("tun-cam-b to leave the hub's pod", () => !(DEVICES["cam-b"] in tunDevices(pods.hub)), 10_000);
        for (let round = 1; round <= 3; round++) {
            assert.strictEqual(answered(pods.hub, "cam-a"), address("cam-a"), `round ${round}: cam-a answers`);
            assert.strictEqual(answered(pods.hub, "cam-c"), address("cam-c"), `round ${round}: cam-c answers`);
            assert.strictEqual(answered(pods.hub, "cam-b"), undefined, `round ${round}: cam-b does not`);
            assert.strictEqual(answered(pods["cam-b"], "hub"), undefined, `round ${round}: cam-b does not reach the hub`);
        }
        assert.strictEqual(hubB.starts, starts, "the stopped plumr stayed stopped");
        assert.deepStrictEqual(Object.keys(tunDevices(pods.hub)).sort(), [DEVICES["cam-a"], DEVICES["cam-c"]]);

        plumrs.hub["plumr-hub-b"] = twin.startPlumr(0, { container: "plumr-hub-b" });
        await eventually("cam-b to answer the hub again", () => answered(pods.hub, "cam-b") === address("cam-b"));
        await eventually("cam-b to reach the hub again", () => answered(pods["cam-b"], "hub") === tunnelAddress(ends.hub, LINKS["cam-b"]));
        assert.strictEqual(answered(pods.hub, "cam-a"), address("cam-a"));
        assert.strictEqual(answered(pods.hub, "cam-c"), address("cam-c"));
    });
});
