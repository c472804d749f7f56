// Endpoints that hold several links: the topology's `endpoints`, the plan that gives each one
// address and a tunnel per link, the checks on their names, and the pod that reaches its peers by
// name. Pure: the planner and the pod spec, no engine.
import * as assert from "assert";
import { endpointPodSpec, peersFile } from "../../components/endpoint";
import { formatAllocations } from "../../planner/addressing/allocations";
import { sha256sums } from "../../planner/files/binaries";
import { tunDevice } from "../../planner/addressing/endpoints";
import { endpointsAt, planAllocations, planTopology } from "../../planner/plan";
import type { Plan } from "../../planner/types";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, plannerFiles } from "../support/harness";
import { expectProblem } from "../support/problems";

const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";
const OHIO_NODE_2 = "ip-10-0-171-33.us-east-2.compute.internal";
const MUMBAI_NODE = "ip-10-1-241-95.ap-south-1.compute.internal";
const MUMBAI_NODE_2 = "ip-10-1-236-160.ap-south-1.compute.internal";
const T = "plumr:topology";

/** The shipped topology with a hub in Ohio linked to three Mumbai endpoints, and the original link kept. */
function hubTopology(): any {
    const t = exampleTopology();
    t.endpoints = {
        hub: { site: "ohio", node: OHIO_NODE },
        "cam-a": { site: "mumbai", node: MUMBAI_NODE },
        "cam-b": { site: "mumbai", node: MUMBAI_NODE },
        "camera-recorder-c": { site: "mumbai", node: MUMBAI_NODE_2 },
    };
    t.links.push(
        { name: "hub-a", endpoints: ["hub", "cam-a"] },
        { name: "hub-b", endpoints: ["hub", "cam-b"] },
        { name: "hub-c", endpoints: ["hub", "camera-recorder-c"] },
    );
    return t;
}

/** A workload of the hub's own, with everything a user may set on it. */
const AGGREGATOR = {
    image: "quay.io/example/aggregator:1",
    env: [{ name: "LOG_LEVEL", value: "debug" }],
    ports: [{ containerPort: 8554, protocol: "UDP", name: "rtsp" }],
    resources: { requests: { cpu: "500m" }, limits: { memory: "1Gi" } },
};

const plan = (raw: any, allocations?: string): Plan =>
    planTopology(parseTopology(raw), plannerFiles({ ...(allocations !== undefined && { allocations }) }));
const endpoint = (p: Plan, name: string) => p.endpoints.find((e) => e.name === name)!;

describe("endpoints: the plan", () => {
    it("gives a named endpoint one address for all its links, and each link its own tunnel, port and device", () => {
        const p = plan(hubTopology());
        const hub = endpoint(p, "hub");
        assert.strictEqual(hub.named, true);
        assert.deepStrictEqual(
            hub.ends.map((e) => [e.link, e.address, e.tunnelIp, e.port, e.device]),
            [
                ["hub-a", hub.address, "10.4.0.5", 5001, "tun-cam-a"],
                ["hub-b", hub.address, "10.4.0.9", 5002, "tun-cam-b"],
                ["hub-c", hub.address, "10.4.0.13", 5003, tunDevice("camera-recorder-c")],
            ],
        );
        // The original link's end keeps the first address; the hub takes the next one on that node.
        assert.strictEqual(endpoint(p, "ohio-mumbai").address, "10.10.1.200");
        assert.strictEqual(hub.address, "10.10.1.2");
        // Two endpoints on one Mumbai node: two addresses.
        assert.notStrictEqual(endpoint(p, "cam-a").address, endpoint(p, "cam-b").address);
        assert.deepStrictEqual(hub.routes, ["10.10.2.0/24", "10.20.0.0/16"], "one route per peer site, however many links");
    });

    it("keeps an end written in a link as an endpoint of its own, named after the link, with tunnel.device", () => {
        const p = plan(hubTopology());
        const ohioEnd = endpoint(p, "ohio-mumbai");
        assert.deepStrictEqual(
            [ohioEnd.name, ohioEnd.named, ohioEnd.ends.length, ohioEnd.ends[0].device],
            ["ohio-mumbai", false, 1, "tun"],
        );
        assert.strictEqual(ohioEnd.ends[0].endpoint, undefined);
        assert.deepStrictEqual(
            endpointsAt(p, "ohio").map((e) => e.name),
            ["hub", "ohio-mumbai"],
        );
    });

    it("names tun devices after the peer: within Linux's 15 characters, and never after the pod's own interfaces", () => {
        for (const peer of ["a", "mumbai", "tokyo-camera-1", "x".repeat(40), "camera-recorder-c", "camera-recorder-d"]) {
            const device = tunDevice(peer);
            assert.ok(device.length <= 15, `${device} fits`);
            assert.match(device, /^tun-[a-z0-9-]+$/);
        }
        assert.notStrictEqual(tunDevice("camera-recorder-c"), tunDevice("camera-recorder-d"), "long names that share a start differ");
        assert.strictEqual(tunDevice("camera-recorder-c"), tunDevice("camera-recorder-c"));
    });

    it("takes the endpoint's own workload, else its site's", () => {
        const t = hubTopology();
        t.endpoints.hub.workload = AGGREGATOR;
        const p = plan(t);
        assert.strictEqual(endpoint(p, "hub").workload.image, "quay.io/example/aggregator:1");
        assert.strictEqual(endpoint(p, "cam-a").workload.image, t.sites.mumbai.workload.image);
    });

    it("keeps every address, subnet and port when a link is added to the hub or removed from it", () => {
        const before = plan(hubTopology());
        const record = formatAllocations(planAllocations(parseTopology(hubTopology()), undefined).record);
        const added = hubTopology();
        added.endpoints["cam-d"] = { site: "mumbai", node: MUMBAI_NODE_2 };
        added.links.splice(2, 0, { name: "hub-d", endpoints: ["hub", "cam-d"] });
        const removed = hubTopology();
        removed.links = removed.links.filter((l: any) => l.name !== "hub-a");
        delete removed.endpoints["cam-a"];
        for (const after of [plan(added, record), plan(removed, record)]) {
            for (const link of after.links.filter((l) => before.links.some((b) => b.name === l.name))) {
                const was = before.links.find((b) => b.name === link.name)!;
                assert.deepStrictEqual(link, was, link.name);
            }
        }
    });

    it("shares the endpoint's address in the allocations file, one record per link", () => {
        const { record } = planAllocations(parseTopology(hubTopology()), undefined);
        const hubAddresses = ["hub-a", "hub-b", "hub-c"].map((l) => record.links[l].ends[0].address);
        assert.deepStrictEqual(new Set(hubAddresses).size, 1);
    });
});

describe("endpoints: checks", () => {
    it("rejects a link that names an endpoint not defined", () => {
        const t = hubTopology();
        t.links[1].endpoints = ["hub", "cam-z"];
        expectProblem(() => parseTopology(t), `${T}.links[1].endpoints[1]`, { value: "cam-z", message: /no such endpoint/, fix: /cam-a/ });
    });

    it("rejects a link with both ends and endpoints, and one with neither", () => {
        const t = hubTopology();
        t.links[1].ends = t.links[0].ends;
        delete t.links[2].endpoints;
        expectProblem(() => parseTopology(t), `${T}.links[1].endpoints`, { message: /both ends and endpoints/ });
        expectProblem(() => parseTopology(t), `${T}.links[2].ends`, { message: /neither/, fix: /endpoints: \[/ });
    });

    it("rejects an endpoint name that is not a DNS label", () => {
        const t = hubTopology();
        t.endpoints.Hub_1 = t.endpoints.hub;
        expectProblem(() => parseTopology(t), `${T}.endpoints.Hub_1`, {});
    });

    it("rejects a link between two endpoints in one site, to itself, or a second link between the same pair", () => {
        const t = hubTopology();
        t.links.push({ name: "a-b", endpoints: ["cam-a", "cam-b"] });
        t.links.push({ name: "self", endpoints: ["hub", "hub"] });
        t.links.push({ name: "hub-a-again", endpoints: ["cam-a", "hub"] });
        expectProblem(() => plan(t), `${T}.links[4].endpoints`, { message: /both endpoints are in the same site, mumbai/ });
        expectProblem(() => plan(t), `${T}.links[5].endpoints`, { message: /joins an endpoint to itself/ });
        expectProblem(() => plan(t), `${T}.links[6].endpoints`, { message: /links\[1\]\.endpoints has this pair of endpoints too/ });
    });

    it("rejects an endpoint no link names, and one named like the objects of a link's ends or the site's own", () => {
        const t = hubTopology();
        t.endpoints.idle = { site: "ohio", node: OHIO_NODE };
        t.endpoints["ohio-mumbai"] = { site: "ohio", node: OHIO_NODE_2 };
        t.endpoints.entrypoint = { site: "ohio", node: OHIO_NODE_2 };
        t.links.push({ name: "e", endpoints: ["entrypoint", "cam-a"] }, { name: "o", endpoints: ["ohio-mumbai", "cam-b"] });
        expectProblem(() => plan(t), `${T}.endpoints.idle`, { message: /no link names it/ });
        expectProblem(() => plan(t), `${T}.links[0].name`, { message: /named like endpoint ohio-mumbai's \(plumr-ohio-mumbai\)/ });
        expectProblem(() => plan(t), `${T}.endpoints.entrypoint`, { message: /site's own plumr-entrypoint/ });
    });

    it("checks an endpoint's site, node and address where the endpoint is defined", () => {
        const t = hubTopology();
        t.endpoints.hub.address = "10.10.2.7";
        t.endpoints["cam-a"].node = OHIO_NODE;
        t.endpoints["cam-b"].site = "lima";
        expectProblem(() => plan(t), `${T}.endpoints.hub.address`, { message: /outside node .*10\.10\.1\.0\/24/, fix: /pin the endpoint/ });
        expectProblem(() => plan(t), `${T}.endpoints.cam-a.node`, { message: /not a node of site mumbai/ });
        expectProblem(() => plan(t), `${T}.endpoints.cam-b.site`, { message: /no such site/ });
    });

    it("rejects an address two endpoints are given, and one port for two links of an endpoint", () => {
        const t = hubTopology();
        t.endpoints["cam-a"].address = "10.20.1.50";
        t.endpoints["cam-b"].address = "10.20.1.50";
        expectProblem(() => plan(t), `${T}.endpoints.cam-b.address`, { message: /already used by endpoint cam-a/ });
        const u = hubTopology();
        u.links[1].port = 6000;
        u.links[2].port = 6000;
        expectProblem(() => plan(u), `${T}.links[2].port`, { message: /link hub-a has this port too.*endpoint hub/ });
    });
});

describe("endpoints: the pod of a named endpoint", () => {
    const p = plan(hubTopology());
    const hub = endpoint(p, "hub");
    const peers = hub.ends.map((_, i) => ({
        site: "mumbai",
        endpoint: ["cam-a", "cam-b", "camera-recorder-c"][i],
        facts: { tunnelIp: `10.4.0.${6 + 4 * i}`, address: `10.20.1.${10 + i}` },
    }));
    const spec: any = endpointPodSpec({
        endpoint: hub,
        site: p.sites.ohio,
        tunnel: p.tunnel,
        binaries: { sha256sums: sha256sums(p.binaries.packages).trimEnd(), hostPath: p.binaries.hostPath },
        peers,
        configSecret: "plumr-hub-config",
        serviceAccount: "plumr-endpoint",
        entrypointConfigMap: "plumr-entrypoint",
        exporterConfigMap: "plumr-exporter",
    });

    it("runs one plumr per link, none privileged, each with its own config and probing its own device", () => {
        assert.deepStrictEqual(
            spec.initContainers.map((c: any) => [
                c.name,
                c.restartPolicy,
                c.securityContext.privileged,
                c.securityContext.capabilities.add,
            ]),
            [
                ["plumr-hub-a", "Always", false, ["NET_ADMIN"]],
                ["plumr-hub-b", "Always", false, ["NET_ADMIN"]],
                ["plumr-hub-c", "Always", false, ["NET_ADMIN"]],
            ],
        );
        // Each plumr mounts the tun device, and nothing else of the pod does.
        for (const c of [...spec.initContainers, ...spec.containers])
            assert.strictEqual(
                (c.volumeMounts ?? []).some((m: any) => m.name === "plumr-tun"),
                c.name.startsWith("plumr-"),
                c.name,
            );
        spec.initContainers.forEach((c: any, i: number) => {
            const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
            assert.strictEqual(env.PLUMR_CONFIG, `/etc/plumr/${hub.ends[i].link}.json`);
            assert.match(c.livenessProbe.exec.command[2], new RegExp(`/sys/class/net/${hub.ends[i].device}/flags`));
        });
        assert.deepStrictEqual(
            spec.containers.map((c: any) => [c.name, c.securityContext.privileged]),
            [
                ["workload", false],
                ["metrics", false],
            ],
        );
    });

    it("probes every link in its one metrics container, each labelled with both endpoints", () => {
        const metrics = spec.containers.find((c: any) => c.name === "metrics");
        const groups = [0, 1, 2].map((i) => metrics.args.slice(4 * i, 4 * i + 4));
        assert.strictEqual(metrics.args.length, 12);
        groups.forEach((group: string[], i: number) => {
            assert.deepStrictEqual(group, [
                hub.ends[i].device,
                hub.ends[i].tunnelIp,
                peers[i].facts.tunnelIp,
                `link="${hub.ends[i].link}",site="ohio",peer_site="mumbai",endpoint="${hub.name}",peer_endpoint="${peers[i].endpoint}"`,
            ]);
        });
    });

    it("resolves every peer by <endpoint> and <endpoint>.<site> to its tunnel address", () => {
        assert.deepStrictEqual(spec.hostAliases, [
            { ip: "10.4.0.6", hostnames: ["cam-a", "cam-a.mumbai"] },
            { ip: "10.4.0.10", hostnames: ["cam-b", "cam-b.mumbai"] },
            { ip: "10.4.0.14", hostnames: ["camera-recorder-c", "camera-recorder-c.mumbai"] },
        ]);
    });

    it("tells the workload its name, its site and its peers file, mounted read-only", () => {
        const workload = spec.containers[0];
        assert.deepStrictEqual(
            workload.env.map((e: any) => [e.name, e.value]),
            [
                ["PLUMR_ENDPOINT", "hub"],
                ["PLUMR_SITE", "ohio"],
                ["PLUMR_PEERS", "/etc/plumr-peers/peers.json"],
            ],
        );
        assert.deepStrictEqual(workload.volumeMounts, [{ name: "plumr-peers", mountPath: "/etc/plumr-peers", readOnly: true }]);
        assert.deepStrictEqual(
            spec.volumes.find((v: any) => v.name === "plumr-peers"),
            {
                name: "plumr-peers",
                downwardAPI: { items: [{ path: "peers.json", fieldRef: { fieldPath: "metadata.annotations['plumr/peers']" } }] },
            },
        );
    });

    it("lists the peers in JSON: endpoint, site, link, both tunnel addresses, port, address and device, sorted by name", () => {
        const peer = (i: number) => ({
            ...peers[i],
            facts: { ...peers[i].facts, site: peers[i].site, node: MUMBAI_NODE, port: hub.ends[i].port, range: "10.20.0.0/16" },
        });
        const file = JSON.parse(peersFile(hub, [peer(2), peer(0), peer(1)]));
        assert.strictEqual(file.endpoint, "hub");
        assert.strictEqual(file.site, "ohio");
        assert.deepStrictEqual(
            file.peers.map((x: any) => x.endpoint),
            ["cam-a", "cam-b", "camera-recorder-c"],
        );
        assert.deepStrictEqual(Object.keys(file.peers[0]), [
            "endpoint",
            "site",
            "link",
            "tunnelIp",
            "localTunnelIp",
            "port",
            "address",
            "device",
        ]);
    });

    it("gives the workload the endpoint's own env, ports and resources after the program's", () => {
        const t = hubTopology();
        t.endpoints.hub.workload = AGGREGATOR;
        const q = plan(t);
        const own: any = endpointPodSpec({
            endpoint: endpoint(q, "hub"),
            site: q.sites.ohio,
            tunnel: q.tunnel,
            binaries: { sha256sums: "", hostPath: q.binaries.hostPath },
            peers,
            configSecret: "c",
            serviceAccount: "s",
            entrypointConfigMap: "e",
            exporterConfigMap: "x",
        });
        const workload = own.containers[0];
        assert.strictEqual(workload.image, "quay.io/example/aggregator:1");
        assert.deepStrictEqual(workload.env.at(-1), { name: "LOG_LEVEL", value: "debug" });
        assert.deepStrictEqual(workload.ports, [{ containerPort: 8554, protocol: "UDP", name: "rtsp" }]);
        assert.deepStrictEqual(workload.resources, { requests: { cpu: "500m" }, limits: { memory: "1Gi" } });
        assert.strictEqual(own.initContainers[0].image, q.sites.ohio.sidecarImage, "plumr keeps the site's sidecar image");
    });
});
