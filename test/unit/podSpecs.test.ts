// The pod specs, built by pure functions from the plan: checked here directly, without the engine
// or its mocks.
import * as assert from "assert";
import { EndpointPodArgs, endpointPodSpec, tunDeviceAnnotations } from "../../components/endpoint";
import { nodeAgentPodSpec } from "../../components/nodeAgent";
import { nodeAgentEnv } from "../../planner/cluster/nodeAgent";
import { DEFAULT_AGENT_IMAGE, parseTopology } from "../../planner/topology/schema";
import { imageReference } from "../../planner/topology/identifiers";
import { exampleFile, readTopologyFile } from "../../lib/topologyFile";
import { planTopology } from "../../planner/plan";
import { exampleTopology, ohioEndpointPodArgs, plannerFiles } from "../support/harness";

function endpointArgs(edit: (topology: any) => void = () => {}): EndpointPodArgs {
    const topology = exampleTopology();
    edit(topology);
    return ohioEndpointPodArgs(planTopology(parseTopology(topology), plannerFiles()));
}

const containers = (spec: any): any[] => [...(spec.initContainers ?? []), ...spec.containers];
const named = (spec: any, name: string) => containers(spec).find((c) => c.name === name);

describe("the endpoint's pod spec", () => {
    const mounting = (spec: any, volume: string) =>
        containers(spec)
            .filter((c) => (c.volumeMounts ?? []).some((m: any) => m.name === volume))
            .map((c) => c.name);

    it("gives plumr NET_ADMIN alone, as root, with the runtime's seccomp profile, a read-only root and no escalation", () => {
        const spec: any = endpointPodSpec(endpointArgs());
        assert.deepStrictEqual(named(spec, "plumr").securityContext, {
            privileged: false,
            allowPrivilegeEscalation: false,
            runAsUser: 0,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
    });

    it("gives the node's tun device, and no other host device, to the plumr sidecars alone (tunDevice: hostPath, the default)", () => {
        const spec: any = endpointPodSpec(endpointArgs());
        const hostPaths = spec.volumes.filter((v: any) => v.hostPath).map((v: any) => [v.name, v.hostPath]);
        assert.deepStrictEqual(hostPaths, [
            ["plumr-bin", { path: "/var/lib/plumr/bin", type: "DirectoryOrCreate" }],
            ["plumr-tun", { path: "/dev/net/tun", type: "CharDevice" }],
        ]);
        assert.deepStrictEqual(mounting(spec, "plumr-tun"), ["plumr"]);
        assert.deepStrictEqual(
            named(spec, "plumr").volumeMounts.find((m: any) => m.name === "plumr-tun"),
            { name: "plumr-tun", mountPath: "/dev/net/tun", readOnly: true },
        );
        assert.deepStrictEqual(tunDeviceAnnotations("hostPath"), { "plumr/tun-device": "hostPath" });
    });

    it("asks CRI-O for the tun device by annotation instead, with no volume of it (tunDevice: crioAnnotation)", () => {
        const spec: any = endpointPodSpec(endpointArgs((t) => (t.sites.ohio.tunDevice = "crioAnnotation")));
        assert.deepStrictEqual(mounting(spec, "plumr-tun"), []);
        assert.strictEqual(
            spec.volumes.some((v: any) => v.hostPath?.path === "/dev/net/tun"),
            false,
        );
        assert.deepStrictEqual(named(spec, "plumr").securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
        assert.deepStrictEqual(tunDeviceAnnotations("crioAnnotation"), {
            "plumr/tun-device": "crioAnnotation",
            "io.kubernetes.cri-o.Devices": "/dev/net/tun:/dev/net/tun:rw",
        });
    });

    it("runs plumr privileged only where its site says so (tunDevice: privileged), and nothing else with it", () => {
        const spec: any = endpointPodSpec(endpointArgs((t) => (t.sites.ohio.tunDevice = "privileged")));
        assert.deepStrictEqual(
            containers(spec)
                .filter((c) => c.securityContext.privileged)
                .map((c) => c.name),
            ["plumr"],
        );
        assert.deepStrictEqual(mounting(spec, "plumr-tun"), []);
        assert.deepStrictEqual(tunDeviceAnnotations("privileged"), { "plumr/tun-device": "privileged" });
    });

    it("runs plumr as a native sidecar ahead of the workload, and no container privileged", () => {
        const spec: any = endpointPodSpec(endpointArgs());
        assert.deepStrictEqual(
            spec.initContainers.map((c: any) => [c.name, c.restartPolicy]),
            [["plumr", "Always"]],
        );
        assert.deepStrictEqual(
            spec.containers.map((c: any) => c.name),
            ["workload", "metrics"],
        );
        assert.deepStrictEqual(
            containers(spec)
                .filter((c) => c.securityContext.privileged !== false)
                .map((c) => c.name),
            [],
        );
        for (const name of ["workload", "metrics"]) {
            assert.deepStrictEqual(named(spec, name).securityContext, {
                privileged: false,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
            });
        }
    });

    it("runs plumr as a plain first container in legacy mode", () => {
        const spec: any = endpointPodSpec(endpointArgs((t) => (t.sites.ohio.sidecar = "legacy")));
        assert.deepStrictEqual(spec.initContainers, []);
        assert.deepStrictEqual(
            spec.containers.map((c: any) => [c.name, c.restartPolicy]),
            [
                ["plumr", undefined],
                ["workload", undefined],
                ["metrics", undefined],
            ],
        );
    });

    it("probes the tunnel's own device, tells the workload its peer, and reads the config as root alone", () => {
        const args = endpointArgs((t) => (t.tunnel.device = "tun9"));
        const spec: any = endpointPodSpec(args);
        const plumr = named(spec, "plumr");
        for (const probe of [plumr.startupProbe, plumr.livenessProbe])
            assert.match(probe.exec.command[2], /\/sys\/class\/net\/tun9\/flags/);
        assert.strictEqual(plumr.securityContext.runAsUser, 0);
        const env = Object.fromEntries(named(spec, "workload").env.map((e: any) => [e.name, e.value]));
        assert.deepStrictEqual(env, {
            PLUMR_LINK: "ohio-mumbai",
            PLUMR_PEER_SITE: "mumbai",
            PLUMR_TUN_IP: "10.4.0.1",
            PLUMR_REMOTE_TUN_IP: "10.4.0.2",
        });
        const config = spec.volumes.find((v: any) => v.name === "plumr-config").secret;
        assert.deepStrictEqual(config, { secretName: "plumr-ohio-mumbai-config", defaultMode: 0o400 });
        const bin = spec.volumes.find((v: any) => v.name === "plumr-bin").hostPath;
        assert.deepStrictEqual(bin, { path: "/var/lib/plumr/bin", type: "DirectoryOrCreate" });
        // Every mount read-only, but the memory-backed /tmp of plumr's read-only root.
        for (const c of containers(spec))
            for (const mount of c.volumeMounts ?? [])
                if (mount.name !== "plumr-tmp") assert.strictEqual(mount.readOnly, true, `${c.name} mounts ${mount.name} read-only`);
        assert.deepStrictEqual(
            spec.volumes.find((v: any) => v.name === "plumr-tmp"),
            { name: "plumr-tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        );
        assert.deepStrictEqual(spec.nodeSelector, { "kubernetes.io/hostname": args.endpoint.node });
    });

    it("serves the link's metrics on a port named metrics, from an exporter that probes the peer through the link's device", () => {
        const args = endpointArgs((t) => (t.tunnel.device = "tun9"));
        const spec: any = endpointPodSpec(args);
        const metrics = named(spec, "metrics");
        assert.deepStrictEqual(metrics.ports, [{ name: "metrics", containerPort: 9464, protocol: "TCP" }]);
        assert.deepStrictEqual(metrics.command, ["/bin/sh", "/plumr-exporter/plumr-exporter.sh"]);
        // The device, this end's tunnel address, the peer's, and the labels.
        assert.deepStrictEqual(metrics.args, ["tun9", "10.4.0.1", "10.4.0.2", 'link="ohio-mumbai",site="ohio",peer_site="mumbai"']);
        const env = Object.fromEntries(metrics.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
        // Bound to the pod's own address: not served on the underlay nor through the tunnel.
        assert.deepStrictEqual(env.PLUMR_METRICS_ADDRESS, { fieldRef: { fieldPath: "status.podIP" } });
        assert.strictEqual(env.PLUMR_METRICS_PORT, "9464");
        assert.strictEqual(env.PLUMR_METRICS_NAME, "plumr_metrics", "shm_printer still prints plumr's own metrics to its log");
        const exporter = spec.volumes.find((v: any) => v.name === "plumr-exporter").configMap;
        assert.deepStrictEqual(exporter, { name: "plumr-exporter", defaultMode: 0o555 });
        assert.deepStrictEqual(
            containers(spec)
                .filter((c) => (c.ports ?? []).some((p: any) => p.name === "metrics"))
                .map((c) => c.name),
            ["metrics"],
            "one container serves the metrics",
        );
    });
});

describe("the node agent's pod spec", () => {
    it("runs one privileged container on the node's network, told the site's settings, its node from the downward API", () => {
        const plan = planTopology(parseTopology(exampleTopology()), plannerFiles());
        const env = nodeAgentEnv(plan, "mumbai");
        const spec: any = nodeAgentPodSpec({
            nodes: plan.sites.mumbai.nodes.map((n) => n.name),
            env,
            image: plan.binaries.installerImage,
            serviceAccountName: "plumr-node-agent",
            manifestName: "plumr-node-agent-0123456789",
            chunkSources: [],
        });
        assert.strictEqual(spec.hostNetwork, true);
        assert.deepStrictEqual(
            spec.containers.map((c: any) => [c.name, c.securityContext.privileged]),
            [["agent", true]],
        );
        const [agent] = spec.containers;
        assert.deepStrictEqual(agent.env[0], { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } });
        assert.deepStrictEqual(Object.fromEntries(agent.env.slice(2).map((e: any) => [e.name, e.value])), env);
        assert.strictEqual(env.PLUMR_NODES.split(" ").length, 3, "every node of the site, with its gateway and range");
        assert.strictEqual(plan.binaries.installerImage, DEFAULT_AGENT_IMAGE);
    });

    it("pins its default image by digest, as a tag and a digest the topology's checks accept", () => {
        assert.match(DEFAULT_AGENT_IMAGE, /^registry\.access\.redhat\.com\/ubi9\/ubi:9\.6@sha256:[0-9a-f]{64}$/);
        assert.strictEqual(imageReference(DEFAULT_AGENT_IMAGE), undefined);
    });

    it("tells each site's agent the site's bridge range and the bridge ranges of the sites linked to it, each once", () => {
        const plan = planTopology(parseTopology(readTopologyFile(exampleFile("hub-and-spoke"))), plannerFiles());
        const ranges = (site: string) => {
            const env = nodeAgentEnv(plan, site);
            return [env.PLUMR_BRIDGE_RANGE, env.PLUMR_PEER_RANGES];
        };
        assert.deepStrictEqual(
            ranges("ohio"),
            ["10.10.0.0/16", "10.20.0.0/16 10.30.0.0/16 10.40.0.0/16"],
            "the hub, linked to every spoke",
        );
        assert.deepStrictEqual(ranges("mumbai"), ["10.20.0.0/16", "10.10.0.0/16"], "a spoke, linked to the hub alone");
    });
});
