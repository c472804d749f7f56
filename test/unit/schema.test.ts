// Every Kubernetes object the program renders is valid for the oldest supported Kubernetes.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { exampleTopology, Registered, runProgram } from "../support/harness";
import { KubernetesSchemas } from "../support/openapi";
import { exampleFile, readTopologyFile } from "../../lib/topologyFile";

describe("rendered objects against the Kubernetes OpenAPI schema", function () {
    this.timeout(600_000);
    let schemas: KubernetesSchemas;
    before(() => {
        schemas = new KubernetesSchemas();
    });

    const renderedObjects = (resources: Registered[]) => resources.filter((r) => r.type.startsWith("kubernetes:"));

    function assertAllValid(resources: Registered[]) {
        const objects = renderedObjects(resources);
        assert.ok(objects.length > 10);
        const failures = objects.flatMap((r) => schemas.validate(r.inputs).map((e) => `${r.type} ${r.name}: ${e}`));
        assert.deepStrictEqual(failures, []);
    }

    it("catches what it should: a misspelt field, a wrong type, a missing required field", () => {
        const deployment = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "x" },
            spec: { selector: {}, template: { spec: { containers: [{ name: "c" }] } } },
        };
        assert.deepStrictEqual(schemas.validate(deployment), []);
        assert.notDeepStrictEqual(schemas.validate({ ...deployment, spec: { ...deployment.spec, replica: 1 } }), []);
        assert.notDeepStrictEqual(schemas.validate({ ...deployment, spec: { ...deployment.spec, replicas: "1" } }), []);
        assert.notDeepStrictEqual(schemas.validate({ ...deployment, spec: { template: deployment.spec.template } }), []);
        const nad = {
            apiVersion: "k8s.cni.cncf.io/v1",
            kind: "NetworkAttachmentDefinition",
            metadata: { name: "n" },
            spec: { config: "{}" },
        };
        assert.deepStrictEqual(schemas.validate(nad), []);
        assert.notDeepStrictEqual(schemas.validate({ ...nad, spec: { config: {} } }), []);
    });

    it("accepts everything a two-site stack renders (native sidecar, OpenShift)", async () => {
        assertAllValid((await runProgram({ stack: "demo", sites: ["ohio", "mumbai"] })).resources);
    });

    it("accepts everything a legacy-sidecar, plain-Kubernetes, macvlan site renders", async () => {
        const topology = exampleTopology();
        Object.assign(topology.sites.ohio, { sidecar: "legacy", platform: "kubernetes", attachment: "macvlan" });
        delete topology.sites.ohio.aws;
        assertAllValid((await runProgram({ stack: "ohio", topology })).resources);
    });

    it("accepts everything the hub-and-spoke example's hub renders: a plumr per link, the peers by name and in a file", async () => {
        const topology = readTopologyFile(exampleFile("hub-and-spoke"));
        const allocations = fs.readFileSync(path.join(path.dirname(exampleFile("hub-and-spoke")), "allocations.json"), "utf8");
        const { resources } = await runProgram({ stack: "ohio", topology, allocations });
        const hub = resources.find((r) => r.name === "ohio-hub" && r.type === "kubernetes:apps/v1:Deployment")!;
        assert.strictEqual(hub.inputs.spec.template.spec.initContainers.length, 3);
        assertAllValid(resources);
    });
});
