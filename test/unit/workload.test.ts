// The workload container's settings, checked before any change as the API server checks them
// (names of variables and ports, quantities, requests against limits) and against what the pod
// itself holds (the PLUMR_* variables, the plumr sidecars' UDP ports); and generated settings,
// whose verdict the OpenAPI schema of the oldest supported Kubernetes must share.
import * as assert from "assert";
import fc from "fast-check";
import { planTopology } from "../../planner/plan";
import { parseTopology } from "../../planner/topology/schema";
import * as id from "../../planner/topology/identifiers";
import { exampleTopology, plannerFiles } from "../support/harness";
import { KubernetesSchemas } from "../support/openapi";
import { expectProblem } from "../support/problems";
import { programVerdict, workloadSettings } from "../support/workloadCases";

const W = "plumr:topology.sites.ohio.workload";

/** Plans the shipped topology with Ohio's workload changed by `edit`. */
function planWith(edit: (workload: any) => void) {
    const topology = exampleTopology();
    edit(topology.sites.ohio.workload);
    return () => planTopology(parseTopology(topology), plannerFiles());
}

describe("the workload's settings", () => {
    it("take environment variables the API server takes, and leave PLUMR_* to the program", () => {
        for (const name of ["1ST", "HAS SPACE", "A=B", ""]) {
            expectProblem(
                planWith((w) => (w.env = [{ name, value: "x" }])),
                `${W}.env[0].name`,
                { message: /letters, digits, '_', '-' and '\.'|empty|at least/ },
            );
        }
        expectProblem(
            planWith((w) => (w.env = [{ name: "PLUMR_LINK", value: "x" }])),
            `${W}.env[0].name`,
            { message: /the PLUMR_\* variables are the program's/ },
        );
        assert.doesNotThrow(planWith((w) => (w.env = [{ name: "log.level-2_X", value: "" }])));
    });

    it("take port names the API server takes, each once", () => {
        for (const name of ["RTSP", "8554", "a--b", "-rtsp", "a-very-long-name"]) {
            expectProblem(
                planWith((w) => (w.ports = [{ containerPort: 8554, name }])),
                `${W}.ports[0].name`,
            );
        }
        expectProblem(
            planWith(
                (w) =>
                    (w.ports = [
                        { containerPort: 8554, name: "rtsp" },
                        { containerPort: 8555, name: "rtsp" },
                    ]),
            ),
            `${W}.ports[1].name`,
            { message: /ports\[0\] has this name too/ },
        );
        assert.doesNotThrow(planWith((w) => (w.ports = [{ containerPort: 8554, name: "rtsp-2" }])));
    });

    it("take quantities and resource names the API server takes, and no request above its limit", () => {
        for (const quantity of ["500 m", "1.5Gb", "-1", "one", "1e"]) {
            expectProblem(
                planWith((w) => (w.resources = { requests: { cpu: quantity } })),
                `${W}.resources.requests.cpu`,
            );
        }
        expectProblem(
            planWith((w) => (w.resources = { limits: { CPU: "1" } })),
            `${W}.resources.limits.CPU`,
            {
                fix: /write it as cpu/,
            },
        );
        expectProblem(
            planWith((w) => (w.resources = { requests: { cpu: "1500m" }, limits: { cpu: "1" } })),
            `${W}.resources.requests.cpu`,
            { message: /more than its limit 1/ },
        );
        // The API server stores quantities in thousandths, rounded up: these two are the same.
        assert.doesNotThrow(planWith((w) => (w.resources = { requests: { cpu: "0.1m" }, limits: { cpu: "0.05m" } })));
        assert.doesNotThrow(
            planWith(
                (w) =>
                    (w.resources = {
                        requests: { cpu: "500m", memory: "1024Mi", "nvidia.com/gpu": "1" },
                        limits: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "1" },
                    }),
            ),
        );
    });

    it("never overcommit extended resources and hugepages, count them whole, and give hugepages cpu or memory", () => {
        expectProblem(
            planWith((w) => (w.resources = { requests: { "nvidia.com/gpu": "1" } })),
            `${W}.resources.limits.nvidia.com/gpu`,
            { message: /a request and no limit/, fix: /set resources\.limits\.nvidia\.com\/gpu to 1, or write only the limit/ },
        );
        expectProblem(
            planWith((w) => (w.resources = { requests: { "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "2" } })),
            `${W}.resources.requests.nvidia.com/gpu`,
            { message: /differs from its limit 2/ },
        );
        expectProblem(
            planWith((w) => (w.resources = { limits: { "nvidia.com/gpu": "500m" } })),
            `${W}.resources.limits.nvidia.com/gpu`,
            { message: /counted in whole units/, fix: /e\.g\. 1$/ },
        );
        expectProblem(
            planWith((w) => (w.resources = { limits: { memory: "1Gi", "hugepages-2Mi": "3Mi" } })),
            `${W}.resources.limits.hugepages-2Mi`,
            { message: /not a whole number of 2Mi pages/ },
        );
        expectProblem(
            planWith((w) => (w.resources = { limits: { "hugepages-2Mi": "100Mi" } })),
            `${W}.resources`,
            { message: /hugepages need a cpu or memory request or limit/ },
        );
        // A limit alone is the request too; memory beside hugepages; an empty port name is no name.
        assert.doesNotThrow(
            planWith((w) => (w.resources = { limits: { "nvidia.com/gpu": "1", memory: "1Gi", "hugepages-2Mi": "100Mi" } })),
        );
        assert.doesNotThrow(planWith((w) => (w.resources = { requests: { "example.com/foo": "2" }, limits: { "example.com/foo": "2" } })));
        assert.doesNotThrow(
            planWith(
                (w) =>
                    (w.ports = [
                        { containerPort: 8554, name: "" },
                        { containerPort: 8555, name: "" },
                    ]),
            ),
        );
    });

    it("keep off the UDP ports the pod's plumr sidecars listen on", () => {
        expectProblem(
            planWith((w) => (w.ports = [{ containerPort: 5000, protocol: "UDP" }])),
            `${W}.ports[0].containerPort`,
            {
                message: /UDP 5000 is the port of link ohio-mumbai/,
            },
        );
        assert.doesNotThrow(planWith((w) => (w.ports = [{ containerPort: 5000, protocol: "TCP" }])));
    });

    it("keep off the metrics exporter's TCP port and its port's name", () => {
        expectProblem(
            planWith((w) => (w.ports = [{ containerPort: 9464 }])),
            `${W}.ports[0].containerPort`,
            {
                message: /TCP 9464 is the endpoint pod's metrics port/,
            },
        );
        expectProblem(
            planWith((w) => (w.ports = [{ containerPort: 8080, name: "metrics" }])),
            `${W}.ports[0].name`,
            {
                message: /the port name metrics is the links' exporter's/,
            },
        );
        assert.doesNotThrow(planWith((w) => (w.ports = [{ containerPort: 9464, protocol: "UDP", name: "stats" }])));
    });

    it("read quantities as Kubernetes does, in thousandths rounded up", () => {
        const cases: [string, bigint][] = [
            ["500m", 500n],
            ["1Ki", 1024_000n],
            ["1Gi", 2n ** 30n * 1000n],
            ["1.5", 1500n],
            ["0.3", 300n],
            ["2e3", 2000_000n],
            ["1E", 10n ** 21n],
            ["1k", 1000_000n],
            [".5", 500n],
            ["0.1m", 1n],
            ["1u", 1n],
            ["+1", 1000n],
        ];
        for (const [text, value] of cases) assert.strictEqual(id.quantityMillis(text), value, text);
        for (const text of ["1e", "500 m", "1.5Gb", ".", "one", ""]) assert.strictEqual(id.quantityMillis(text), undefined, text);
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom("", "m", "k", "Mi", "Gi"), (n, suffix) => {
                const quantity = `${n}${suffix}`;
                assert.strictEqual(id.quantity(quantity), undefined, quantity);
                assert.ok(id.quantityMillis(quantity)! >= 0n);
            }),
        );
    });

    it("render, when the program takes them, a pod the OpenAPI schema takes; refused, they are named as workload fields", function () {
        this.timeout(120_000);
        const schemas = new KubernetesSchemas();
        const seen = { accepted: 0, refused: 0 };
        fc.assert(
            fc.property(workloadSettings, (settings) => {
                const verdict = programVerdict(settings);
                if (verdict.accepted) {
                    seen.accepted++;
                    assert.deepStrictEqual(schemas.validate(verdict.pod), [], JSON.stringify(settings));
                } else {
                    seen.refused++;
                    for (const problem of verdict.problems) {
                        assert.match(
                            problem.field,
                            new RegExp(`^${W.replace(/\./g, "\\.")}\\.(env|ports|resources)\\b`),
                            JSON.stringify(problem),
                        );
                        assert.ok(problem.fix.length > 0, JSON.stringify(problem));
                    }
                }
            }),
            { numRuns: 300, seed: 26 },
        );
        // The cases reach both verdicts, each often.
        assert.ok(seen.accepted > 50 && seen.refused > 50, JSON.stringify(seen));
    });
});
