// npm run discover: the nodes a stack's sites have now, printed as the topology's own YAML, and
// written back into a topology file without losing its comments.
import * as assert from "assert";
import * as YAML from "yaml";
import type { ClusterNode } from "../../planner/cluster/facts";
import { planTopology } from "../../planner/plan";
import { poolsOf } from "../../planner/pools/slots";
import { parseTopology } from "../../planner/topology/schema";
import { pinnedSitesYaml, setNodePins } from "../../lib/topologyFile";
import { exampleTopology, plannerFiles } from "../support/harness";

const POOL = { "node-role.kubernetes.io/plumr": "" };
const node = (name: string, zone: string, instance: string): ClusterNode => ({
    name,
    providerId: `aws:///${zone}/${instance}`,
    labels: { "topology.kubernetes.io/zone": zone, ...POOL },
    ready: true,
});

describe("npm run discover", () => {
    it("prints a pool's nodes as a pinned nodes block, each with its slot, that plans to the same nodes", () => {
        const topology = exampleTopology();
        delete topology.sites.ohio.nodes;
        topology.sites.ohio.pool = { selector: POOL };
        topology.sites.ohio.aws = { region: "us-east-2", routing: "none" };
        topology.links[0].ends[0] = { site: "ohio" };
        const clusters = { ohio: [node("ohio-b", "us-east-2b", "i-0b"), node("ohio-a", "us-east-2a", "i-0a")] };
        const parsed = parseTopology(topology);
        const plan = planTopology(parsed, plannerFiles(), poolsOf(parsed, clusters));
        const text = pinnedSitesYaml(plan, ["ohio"]);
        assert.match(
            text,
            /# slot 1 of the pool\n\s+- name: ohio-a\n\s+range: 10\.10\.1\.0\/24\n\s+instanceId: i-0a\n\s+availabilityZone: us-east-2a/,
        );
        const pinned = exampleTopology();
        pinned.sites.ohio = { ...topology.sites.ohio, pool: undefined, nodes: YAML.parse(text).sites.ohio.nodes };
        delete pinned.sites.ohio.pool;
        pinned.links[0].ends[0] = { site: "ohio", node: "ohio-a" };
        const again = planTopology(parseTopology(pinned), plannerFiles());
        assert.deepStrictEqual(
            again.sites.ohio.nodes.map((n) => [n.name, n.range]),
            plan.sites.ohio.nodes.map((n) => [n.name, n.range]),
        );
    });

    it("writes the instances and zones the cluster says into a project file, keeping its comments, and says what it left", () => {
        const text = [
            "name: plumr",
            "config:",
            "  plumr:topology:",
            "    value:",
            "      sites:",
            "        ohio:",
            "          # the workers",
            "          nodes:",
            "            - name: a   # worker 1",
            "              range: 10.10.1.0/24",
            "              instanceId: i-old",
            "            - name: b",
            "              range: 10.10.2.0/24",
            "",
        ].join("\n");
        const pins = new Map([["a", { instanceId: "i-new", availabilityZone: "us-east-2a" }]]);
        const { text: written, changes } = setNodePins(text, "ohio", pins, true);
        assert.deepStrictEqual(changes, [
            "sites.ohio.nodes[0].instanceId: i-old → i-new",
            "sites.ohio.nodes[0].availabilityZone: (none) → us-east-2a",
            "sites.ohio.nodes[1]: the cluster has no node b (replaced?); left as it is",
        ]);
        assert.match(written, /# the workers/);
        assert.match(written, /- name: a # worker 1/);
        const nodes = YAML.parse(written).config["plumr:topology"].value.sites.ohio.nodes;
        assert.deepStrictEqual(nodes[0], { name: "a", range: "10.10.1.0/24", instanceId: "i-new", availabilityZone: "us-east-2a" });
        assert.deepStrictEqual(nodes[1], { name: "b", range: "10.10.2.0/24" });
        assert.strictEqual(setNodePins(written, "ohio", pins, true).changes.length, 1, "written once, current after");
    });
});
