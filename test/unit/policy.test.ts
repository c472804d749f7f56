// The policy pack's rules, each with a violating resource and the program's own, passing ones.
import * as assert from "assert";
import * as rules from "../../policy/rules";
import { exampleTopology, Registered, runProgram } from "../support/harness";

const asChecked = (r: Registered): rules.Checked => ({
    type: r.type,
    name: r.name,
    props: structuredClone(r.inputs),
    providerUrn: r.provider ? `urn:pulumi:demo::plumr::pulumi:providers:kubernetes::${r.provider}` : undefined,
});

describe("policy pack rules", () => {
    let rendered: rules.Checked[];
    const one = (type: string, name: string) => structuredClone(rendered.find((r) => r.type === type && r.name === name)!);
    const endpoint = () => one("kubernetes:apps/v1:Deployment", "ohio-ohio-mumbai");
    const attachment = () => one("kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition", "ohio-ohio-mumbai-attachment");

    before(async () => {
        rendered = (await runProgram({ stack: "demo", sites: ["ohio", "mumbai"] })).resources.map(asChecked);
        // And a hub: a named endpoint with a plumr per link, and its peers file.
        const hub = exampleTopology();
        hub.endpoints = {
            hub: { site: "ohio", node: hub.links[0].ends[0].node },
            a: { site: "mumbai", node: hub.links[0].ends[1].node },
            b: { site: "mumbai", node: hub.links[0].ends[1].node },
        };
        hub.links = [
            { name: "hub-a", endpoints: ["hub", "a"] },
            { name: "hub-b", endpoints: ["hub", "b"] },
        ];
        const hubStack = await runProgram({ stack: "hub", sites: ["ohio", "mumbai"], topology: hub, allocations: null });
        rendered.push(...hubStack.resources.filter((r) => r.name.startsWith("ohio-hub")).map(asChecked));
    });

    it("find nothing wrong with what the program renders", () => {
        const perResource = [
            rules.privilegeViolations,
            rules.hostPathViolations,
            rules.attachmentViolations,
            rules.plumrConfigViolations,
            rules.providerViolations,
        ];
        const found = rendered.flatMap((r) => perResource.flatMap((rule) => rule(r)));
        assert.deepStrictEqual([...found, ...rules.addressViolations(rendered)], []);
    });

    it("refuse a privileged workload container, and capabilities on the metrics container", () => {
        const d = endpoint();
        d.props.spec.template.spec.containers[0].securityContext.privileged = true;
        d.props.spec.template.spec.containers[1].securityContext.capabilities.add = ["NET_ADMIN"];
        assert.deepStrictEqual(rules.privilegeViolations(d).length, 2);
        const agent = one("kubernetes:apps/v1:DaemonSet", "ohio-node-agent");
        assert.deepStrictEqual(rules.privilegeViolations(agent), [], "the node agent may be privileged, on the node's network");
        agent.props.spec.template.spec.containers.push({ name: "sidekick", securityContext: { privileged: true } });
        assert.match(rules.privilegeViolations(agent)[0], /container sidekick/);
        const onHostNetwork = endpoint();
        onHostNetwork.props.spec.template.spec.hostNetwork = true;
        assert.match(rules.privilegeViolations(onHostNetwork)[0], /runs on the node's network; only the node agent may/);
    });

    it("refuse a hostPath other than the read-only binaries in an endpoint", () => {
        const d = endpoint();
        d.props.spec.template.spec.volumes.push({ name: "host-etc", hostPath: { path: "/etc" } });
        assert.match(rules.hostPathViolations(d)[0], /volume host-etc .* \/etc/);
        const writable = endpoint();
        writable.props.spec.template.spec.initContainers[0].volumeMounts[0].readOnly = false;
        assert.match(rules.hostPathViolations(writable)[0], /container plumr .* writable/);
    });

    it("refuse an attachment that does not parse, misspells capabilities or lacks them", () => {
        const bad = attachment();
        bad.props.spec.config = "{";
        assert.match(rules.attachmentViolations(bad)[0], /not JSON/);
        const misspelt = attachment();
        misspelt.props.spec.config = JSON.stringify({ type: "bridge", ipam: { type: "static", capabilites: { ips: true } } });
        assert.deepStrictEqual(rules.attachmentViolations(misspelt).length, 2);
    });

    it("refuse an endpoint address outside its node's range", () => {
        const resources = structuredClone(rendered);
        const d = resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "ohio-ohio-mumbai")!;
        const annotations = d.props.spec.template.metadata.annotations;
        annotations["k8s.v1.cni.cncf.io/networks"] = annotations["k8s.v1.cni.cncf.io/networks"].replace("10.10.1.200/24", "10.10.2.200/24");
        assert.deepStrictEqual(rules.addressViolations(resources), [
            "ohio-ohio-mumbai asks for 10.10.2.200/24, outside the node range of its attachment plumr-ohio-mumbai",
        ]);
    });

    it("refuse a plumr config in a ConfigMap", () => {
        const cm: rules.Checked = { type: "kubernetes:core/v1:ConfigMap", name: "leak", props: { data: { "config.json": "{}" } } };
        assert.strictEqual(rules.plumrConfigViolations(cm).length, 1);
        assert.deepStrictEqual(rules.plumrConfigViolations(one("kubernetes:core/v1:ConfigMap", "ohio-entrypoint")), []);
        const hubConfig: rules.Checked = {
            type: "kubernetes:core/v1:ConfigMap",
            name: "leak",
            props: { metadata: { labels: { "app.kubernetes.io/component": "endpoint" } }, data: { "hub-a.json": "{}" } },
        };
        assert.match(rules.plumrConfigViolations(hubConfig)[0], /holds a plumr config \(hub-a\.json\)/);
    });

    it("let each of a hub's plumr sidecars add NET_ADMIN, and no other of its containers", () => {
        const hub = one("kubernetes:apps/v1:Deployment", "ohio-hub");
        assert.deepStrictEqual(
            hub.props.spec.template.spec.initContainers.map((c: any) => [c.name, c.securityContext.capabilities.add]),
            [
                ["plumr-hub-a", ["NET_ADMIN"]],
                ["plumr-hub-b", ["NET_ADMIN"]],
            ],
        );
        assert.deepStrictEqual(rules.privilegeViolations(hub), []);
        hub.props.spec.template.spec.containers[0].securityContext.privileged = true;
        assert.match(rules.privilegeViolations(hub)[0], /container workload of ohio-hub is privileged/);
    });

    it("refuse a privileged plumr sidecar, or one adding a capability beyond NET_ADMIN, unless its site opts in", () => {
        const privileged = endpoint();
        privileged.props.spec.template.spec.initContainers[0].securityContext.privileged = true;
        assert.deepStrictEqual(rules.privilegeViolations(privileged), [
            "plumr sidecar plumr of ohio-ohio-mumbai is privileged; it may add NET_ADMIN alone, unless its site sets tunDevice: privileged",
        ]);
        const more = endpoint();
        more.props.spec.template.spec.initContainers[0].securityContext.capabilities.add = ["NET_ADMIN", "SYS_ADMIN", "NET_RAW"];
        assert.deepStrictEqual(rules.privilegeViolations(more), [
            "plumr sidecar plumr of ohio-ohio-mumbai adds SYS_ADMIN, NET_RAW; it may add NET_ADMIN alone, unless its site sets tunDevice: privileged",
        ]);
        const hubLink = one("kubernetes:apps/v1:Deployment", "ohio-hub");
        hubLink.props.spec.template.spec.initContainers[1].securityContext.privileged = true;
        assert.match(rules.privilegeViolations(hubLink)[0], /plumr sidecar plumr-hub-b of ohio-hub is privileged/);
        // The site's opt-in, as the program renders it.
        for (const d of [privileged, more]) {
            d.props.spec.template.metadata.annotations["plumr/tun-device"] = "privileged";
            assert.deepStrictEqual(rules.privilegeViolations(d), []);
        }
    });

    it("let the plumr sidecars alone mount the node's tun device, and no other device", () => {
        const d = endpoint();
        assert.deepStrictEqual(rules.hostPathViolations(d), []);
        const spec = d.props.spec.template.spec;
        assert.ok(spec.volumes.some((v: any) => v.name === "plumr-tun"));
        spec.containers[0].volumeMounts = [{ name: "plumr-tun", mountPath: "/dev/net/tun", readOnly: true }];
        assert.deepStrictEqual(rules.hostPathViolations(d), [
            "container workload of ohio-ohio-mumbai mounts the tun device; only the plumr sidecars may",
        ]);
        const mem = endpoint();
        mem.props.spec.template.spec.volumes.find((v: any) => v.name === "plumr-tun").hostPath = { path: "/dev/mem", type: "CharDevice" };
        assert.match(rules.hostPathViolations(mem)[0], /volume plumr-tun of ohio-ohio-mumbai mounts the host path \/dev\/mem/);
    });

    it("refuse a resource without an explicit provider", () => {
        const d = endpoint();
        assert.strictEqual(rules.providerViolations({ ...d, providerUrn: undefined }).length, 1);
        assert.strictEqual(
            rules.providerViolations({ ...d, providerUrn: "urn:pulumi:s::p::pulumi:providers:kubernetes::default_4_25_0" }).length,
            1,
        );
        assert.deepStrictEqual(rules.providerViolations(d), []);
    });
});
