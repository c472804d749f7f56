// Sites described by a pool: nodes found in the cluster by their labels, each holding a slot of the
// bridge range while it exists; endpoints placed on a pool's nodes and following their slot when a
// node is replaced. Pure: the planner with the cluster's nodes given, no engine.
import * as assert from "assert";
import fc from "fast-check";
import type { ClusterNode } from "../../planner/cluster/facts";
import { formatAllocations } from "../../planner/addressing/allocations";
import { planAllocations, planTopology } from "../../planner/plan";
import { assignSlots, poolsOf, PoolNode, SiteSlots } from "../../planner/pools/slots";
import { parseTopology } from "../../planner/topology/schema";
import type { Plan } from "../../planner/types";
import { changes, exampleTopology, find, plannerFiles, Registered, runProgram, upInOrder } from "../support/harness";
import { rejection } from "../support/problems";

const T = "plumr:topology";
const POOL = { "node-role.kubernetes.io/plumr": "" };

/** The shipped topology with both sites as pools, AWS routing none, and the link's ends placed (no node, no address). */
function poolTopology(): any {
    const topology = exampleTopology();
    for (const site of Object.values<any>(topology.sites)) {
        delete site.nodes;
        site.pool = { selector: POOL };
        site.aws = { region: site.aws.region, routing: "none" };
    }
    topology.links = [{ name: "ohio-mumbai", ends: [{ site: "ohio" }, { site: "mumbai" }] }];
    return topology;
}

/** A node of a cluster: in the pool unless said otherwise, ready, on an EC2 instance of its zone. */
function node(name: string, zone: string, options: { pool?: boolean; ready?: boolean; unschedulable?: boolean } = {}): ClusterNode {
    const instance = `i-0${Buffer.from(name).toString("hex").slice(0, 16).padEnd(16, "0")}`;
    return {
        name,
        providerId: `aws:///${zone}/${instance}`,
        arch: "amd64",
        labels: { "topology.kubernetes.io/zone": zone, ...(options.pool !== false && POOL) },
        ready: options.ready ?? true,
        unschedulable: options.unschedulable ?? false,
    };
}

const CLUSTERS = () => ({
    ohio: [node("ohio-b", "us-east-2b"), node("ohio-a", "us-east-2a"), node("ohio-infra", "us-east-2a", { pool: false })],
    mumbai: [node("mumbai-a", "ap-south-1a"), node("mumbai-b", "ap-south-1b")],
});

/** Plans `topology` on `clusters`, with `allocations` as the file's text (none by default). */
function planOn(topology: any, clusters: Record<string, ClusterNode[]>, allocations?: string): Plan {
    const parsed = parseTopology(topology);
    return planTopology(parsed, plannerFiles({ allocations }), poolsOf(parsed, clusters));
}

/** What the allocations file says after `plan`: what `npm run discover -- <stack> --write` commits. */
const recordOf = (plan: Plan) => formatAllocations(plan.allocations.record);
const endOf = (plan: Plan, site: string) => plan.links[0].ends.find((e) => e.site === site)!;

describe("pools: sites whose nodes are found by their labels", () => {
    it("gives the pool's nodes slots in name order, from the bridge range's second part on, and leaves other nodes out", () => {
        const plan = planOn(poolTopology(), CLUSTERS());
        assert.deepStrictEqual(
            plan.sites.ohio.nodes.map((n) => [n.name, n.range]),
            [
                ["ohio-a", "10.10.1.0/24"],
                ["ohio-b", "10.10.2.0/24"],
            ],
        );
        assert.deepStrictEqual(plan.allocations.record.sites?.ohio.slots, {
            1: { node: "ohio-a", instanceId: plan.sites.ohio.config.nodes[0].instanceId, zone: "us-east-2a" },
            2: { node: "ohio-b", instanceId: plan.sites.ohio.config.nodes[1].instanceId, zone: "us-east-2b" },
        });
        assert.ok(plan.sites.ohio.config.nodes[0].instanceId?.startsWith("i-0"), "the instance is the providerID's");
        assert.deepStrictEqual(plan.provisional, []);
    });

    it("places an endpoint on the lowest slot whose node is ready and schedulable, with an address in that slot", () => {
        const plan = planOn(poolTopology(), CLUSTERS());
        assert.deepStrictEqual([endOf(plan, "ohio").node, endOf(plan, "ohio").address], ["ohio-a", "10.10.1.2"]);
        const cordoned = CLUSTERS();
        cordoned.ohio[1] = node("ohio-a", "us-east-2a", { unschedulable: true });
        const moved = planOn(poolTopology(), cordoned);
        assert.deepStrictEqual([endOf(moved, "ohio").node, endOf(moved, "ohio").address], ["ohio-b", "10.10.2.2"]);
    });

    it("moves an endpoint onto the node that replaces its node: same slot, same address, nothing else changes", () => {
        const first = planOn(poolTopology(), CLUSTERS());
        const committed = recordOf(first);
        const replaced = CLUSTERS();
        replaced.ohio = [node("ohio-b", "us-east-2b"), node("ohio-c", "us-east-2a"), node("ohio-d", "us-east-2c")];
        const after = planOn(poolTopology(), replaced, committed);
        assert.deepStrictEqual(
            after.sites.ohio.nodes.map((n) => [n.name, n.range]),
            [
                ["ohio-c", "10.10.1.0/24"],
                ["ohio-b", "10.10.2.0/24"],
                ["ohio-d", "10.10.3.0/24"],
            ],
            "the successor in the zone of the node it replaces takes its slot; the other newcomer the next free one",
        );
        assert.deepStrictEqual([endOf(after, "ohio").node, endOf(after, "ohio").address], ["ohio-c", "10.10.1.2"]);
        assert.deepStrictEqual(endOf(after, "mumbai"), endOf(first, "mumbai"), "the peer's end does not change");
        assert.deepStrictEqual(after.allocations.changes.slots, [`ohio slot 1 (ohio-a → ohio-c)`, `ohio slot 3 (free → ohio-d)`]);
    });

    it("adds a node with the next slot and frees the slot of a node that leaves, changing nothing else", () => {
        const first = planOn(poolTopology(), CLUSTERS());
        const grown = CLUSTERS();
        grown.ohio.push(node("ohio-0", "us-east-2a"));
        const after = planOn(poolTopology(), grown, recordOf(first));
        assert.deepStrictEqual(
            after.sites.ohio.nodes.map((n) => `${n.name} ${n.range}`),
            ["ohio-a 10.10.1.0/24", "ohio-b 10.10.2.0/24", "ohio-0 10.10.3.0/24"],
        );
        assert.deepStrictEqual(after.links, first.links, "no link changes");
        const shrunk = { ...grown, ohio: grown.ohio.filter((n) => n.name !== "ohio-b") };
        const less = planOn(poolTopology(), shrunk, recordOf(after));
        assert.deepStrictEqual(
            less.sites.ohio.nodes.map((n) => `${n.name} ${n.range}`),
            ["ohio-a 10.10.1.0/24", "ohio-0 10.10.3.0/24"],
        );
        assert.deepStrictEqual(less.links, first.links);
    });

    it("keeps an endpoint's written address, and with it the slot the address is in", () => {
        const topology = poolTopology();
        topology.links[0].ends[0].address = "10.10.2.200";
        const plan = planOn(topology, CLUSTERS());
        assert.deepStrictEqual([endOf(plan, "ohio").node, endOf(plan, "ohio").address], ["ohio-b", "10.10.2.200"]);
    });

    it("plans from the recorded slots alone before the clusters are read, and says the plan is provisional", () => {
        const committed = recordOf(planOn(poolTopology(), CLUSTERS()));
        const parsed = parseTopology(poolTopology());
        const provisional = planTopology(parsed, plannerFiles({ allocations: committed }));
        assert.deepStrictEqual(provisional.provisional, ["ohio", "mumbai"]);
        assert.deepStrictEqual(endOf(provisional, "ohio").address, "10.10.1.2");
        assert.deepStrictEqual(provisional.allocations.changes.slots, [], "the recorded slots stand until the cluster says otherwise");
        const unrecorded = planTopology(parsed, plannerFiles());
        assert.deepStrictEqual(unrecorded.allocations.record.sites, { ohio: { slots: {} }, mumbai: { slots: {} } });
        assert.ok(
            unrecorded.allocations.record.links["ohio-mumbai"].ends.every((end) => end.node === undefined),
            "a stand-in node is never recorded",
        );
    });

    it("refuses what a pool cannot do, naming the field and the fix", async () => {
        const both = poolTopology();
        both.sites.ohio.nodes = [{ name: "ohio-a", range: "10.10.1.0/24" }];
        const err = await rejection(Promise.resolve().then(() => parseTopology(both)));
        assert.strictEqual(err.problems[0].field, `${T}.sites.ohio.pool`);
        assert.match(err.problems[0].fix, /keep nodes .* or keep pool/);

        const neither = poolTopology();
        delete neither.sites.ohio.pool;
        assert.match(
            (await rejection(Promise.resolve().then(() => parseTopology(neither)))).problems[0].message,
            /neither its nodes nor its pool/,
        );

        const pinned = poolTopology();
        pinned.links[0].ends[0].node = "ohio-infra";
        const notInPool = await rejection(Promise.resolve().then(() => planOn(pinned, CLUSTERS())));
        assert.strictEqual(notInPool.problems[0].field, `${T}.links[0].ends[0].node`);
        assert.match(notInPool.problems[0].message, /not a node of site ohio's pool/);
        assert.match(notInPool.problems[0].fix, /kubectl label node ohio-infra node-role\.kubernetes\.io\/plumr=/);

        const outside = poolTopology();
        outside.links[0].ends[0].address = "10.10.0.9";
        const slotZero = await rejection(Promise.resolve().then(() => planOn(outside, CLUSTERS())));
        assert.match(slotZero.problems[0].message, /not in a slot of site ohio's pool/);

        const empty = CLUSTERS();
        empty.ohio = [node("ohio-a", "us-east-2a", { ready: false })];
        const none = await rejection(Promise.resolve().then(() => planOn(poolTopology(), empty)));
        assert.strictEqual(none.problems[0].field, `${T}.sites.ohio.pool`);
        assert.match(none.problems[0].message, /none of the nodes that carry these labels is ready and schedulable/);

        const listed = exampleTopology();
        delete listed.links[0].ends[0].node;
        const missing = await rejection(Promise.resolve().then(() => planTopology(parseTopology(listed), plannerFiles())));
        assert.strictEqual(missing.problems[0].field, `${T}.links[0].ends[0].node`);
        assert.match(missing.problems[0].message, /required: site ohio lists its nodes/);
    });

    it("fails when the node of an endpoint's slot is gone and none has taken its place", async () => {
        const committed = recordOf(planOn(poolTopology(), CLUSTERS()));
        const gone = CLUSTERS();
        gone.ohio = [node("ohio-b", "us-east-2b")];
        const err = await rejection(Promise.resolve().then(() => planOn(poolTopology(), gone, committed)));
        assert.strictEqual(err.problems[0].field, `${T}.sites.ohio.pool`);
        assert.match(err.problems[0].message, /lives in slot 1 \(10\.10\.1\.0\/24\).*its node ohio-a is gone/);
        assert.match(err.problems[0].fix, /wait for the new node to join \(kubectl get nodes -l node-role\.kubernetes\.io\/plumr\)/);
    });

    it("fails when the pool has more nodes than its bridge range has slots", async () => {
        const topology = poolTopology();
        topology.sites.ohio.bridgeRange = "10.10.0.0/23";
        const err = await rejection(Promise.resolve().then(() => planOn(topology, CLUSTERS())));
        assert.strictEqual(err.problems[0].field, `${T}.sites.ohio.pool`);
        assert.match(err.problems[0].message, /has room for 1 slots of \/24.*ohio-b would have none/);
    });

    it("never moves a surviving node's slot or a surviving endpoint's address, whatever nodes come and go", () => {
        const names = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"];
        const step = fc.record({ remove: fc.subarray(names), add: fc.subarray(names) });
        fc.assert(
            fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (history) => {
                let present = new Set(["n0", "n1"]);
                let record: string | undefined;
                let before: Plan | undefined;
                for (const { remove, add } of history) {
                    const next = new Set([...present].filter((n) => !remove.includes(n)));
                    for (const n of add) next.add(n);
                    // The endpoint's node must be kept or replaced: a pool that loses its last node cannot place it.
                    if (next.size === 0) continue;
                    const clusters = { ...CLUSTERS(), ohio: [...next].map((n) => node(n, "us-east-2a")) };
                    let plan: Plan;
                    try {
                        plan = planOn(poolTopology(), clusters, record);
                    } catch {
                        continue; // the endpoint's slot lost its node with no successor: refused, as tested above
                    }
                    if (before) {
                        const survivors = before.sites.ohio.nodes.filter((n) => next.has(n.name));
                        for (const n of survivors) {
                            assert.strictEqual(
                                plan.sites.ohio.nodes.find((m) => m.name === n.name)?.range,
                                n.range,
                                `${n.name} keeps its slot`,
                            );
                        }
                        assert.strictEqual(endOf(plan, "ohio").address, endOf(before, "ohio").address, "the endpoint keeps its address");
                    }
                    present = next;
                    record = recordOf(plan);
                    before = plan;
                }
            }),
            { numRuns: Number(process.env.PLUMR_PROPERTY_RUNS ?? 1) * 200 },
        );
    });
});

describe("slots: who takes a freed slot", () => {
    const pool = (name: string, zone: string, schedulable = true): PoolNode => ({ name, zone, schedulable });
    const holders = (slots: Map<number, PoolNode>) => Object.fromEntries([...slots].map(([slot, n]) => [slot, n.name]));

    it("gives an endpoint's freed slot to a schedulable node in the zone of the node it replaces, others the lowest free", () => {
        const recorded: SiteSlots = { 1: { node: "a", zone: "z1" }, 2: { node: "b", zone: "z2" }, 4: { node: "d", zone: "z1" } };
        const nodes = [pool("b", "z2"), pool("d", "z1"), pool("x", "z2"), pool("y", "z1", false), pool("z", "z1")];
        const { slots, freed } = assignSlots(recorded, nodes, new Set([1]), 10);
        assert.deepStrictEqual(holders(slots), { 1: "z", 2: "b", 3: "x", 4: "d", 5: "y" });
        assert.deepStrictEqual(freed, []);
    });

    it("keeps a slot free while nobody needs it", () => {
        const { slots, freed } = assignSlots({ 1: { node: "a" }, 2: { node: "b" } }, [pool("b", "z")], new Set(), 10);
        assert.deepStrictEqual([holders(slots), freed], [{ 2: "b" }, [1]]);
    });
});

describe("allocations: what the record of a pool says", () => {
    it("records each slot's node, instance and zone, sorted, and plans the same from its own text", () => {
        const plan = planOn(poolTopology(), CLUSTERS());
        const text = recordOf(plan);
        assert.match(text, /"sites": \{\n {4}"mumbai": \{\n {6}"slots": \{\n {8}"1": \{\n {10}"node": "mumbai-a"/);
        const again = planAllocations(parseTopology(poolTopology()), text, poolsOf(parseTopology(poolTopology()), CLUSTERS()));
        assert.strictEqual(formatAllocations(again.record), text, "a committed record is current");
    });
});

describe("pools under mocks: a stack deploys its pool's endpoints on the nodes its cluster has", () => {
    const deploymentOf = (resources: Registered[]) => find(resources, "kubernetes:apps/v1:Deployment", "ohio-ohio-mumbai").inputs;
    const agentNodes = (resources: Registered[]) =>
        find(resources, "kubernetes:apps/v1:DaemonSet", "ohio-node-agent").inputs.spec.template.spec.affinity.nodeAffinity
            .requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values;
    const inputsOf = (resources: Registered[]) =>
        JSON.stringify(
            resources
                .filter((r) => r.type.startsWith("kubernetes:"))
                .map((r) => [r.type, r.name, r.inputs])
                .sort(),
        );

    it("writes no node name: the endpoint runs on the slot's node, the node agent on every node of the pool", async () => {
        const { resources, sites } = await runProgram({ stack: "ohio", topology: poolTopology(), clusters: CLUSTERS(), allocations: null });
        assert.strictEqual(deploymentOf(resources).spec.template.spec.nodeSelector["kubernetes.io/hostname"], "ohio-a");
        assert.deepStrictEqual(agentNodes(resources), ["ohio-a", "ohio-b"]);
        assert.deepStrictEqual(
            sites.ohio.nodes.map((n: any) => [n.name, n.range]),
            [
                ["ohio-a", "10.10.1.0/24"],
                ["ohio-b", "10.10.2.0/24"],
            ],
        );
        assert.strictEqual(sites.ohio.endpoints["ohio-mumbai"].address, "10.10.1.2");
    });

    it("on a replacement, changes the replaced site's stack alone: the peer's renders exactly what it did", async () => {
        const clusters = CLUSTERS();
        const parsed = parseTopology(poolTopology());
        const committed = formatAllocations(planAllocations(parsed, undefined, poolsOf(parsed, clusters)).record);
        const { runs } = await upInOrder(["ohio", "mumbai"], { topology: poolTopology(), clusters, allocations: committed });
        const replaced = { ...clusters, ohio: [node("ohio-b", "us-east-2b"), node("ohio-c", "us-east-2a")] };
        const after = await upInOrder(["ohio", "mumbai"], { topology: poolTopology(), clusters: replaced, allocations: committed });
        const [ohio, mumbai] = [runs[0].result, runs[1].result];
        const [ohio2, mumbai2] = [after.runs[0].result, after.runs[1].result];
        assert.strictEqual(deploymentOf(ohio2.resources).spec.template.spec.nodeSelector["kubernetes.io/hostname"], "ohio-c");
        assert.strictEqual(ohio2.sites.ohio.endpoints["ohio-mumbai"].address, ohio.sites.ohio.endpoints["ohio-mumbai"].address);
        assert.notStrictEqual(inputsOf(ohio2.resources), inputsOf(ohio.resources), "Ohio's stack moves the endpoint");
        assert.strictEqual(inputsOf(mumbai2.resources), inputsOf(mumbai.resources), "Mumbai's stack changes nothing");
    });
});

describe("pools on AWS", () => {
    it("give a node that joins the pool its slot's routes and source/destination check, and change nothing else but the node agent", async () => {
        const topology = () => {
            const t = poolTopology();
            for (const [name, site] of Object.entries<any>(t.sites)) site.aws = exampleTopology().sites[name].aws;
            return t;
        };
        const clusters = CLUSTERS();
        const parsed = parseTopology(topology());
        const committed = formatAllocations(planAllocations(parsed, undefined, poolsOf(parsed, clusters)).record);
        // Both stacks converged (the accepter, the requester, then both again), before and after the node joins.
        const converged = async (nodes: Record<string, ClusterNode[]>) => {
            const { runs } = await upInOrder(["ohio", "mumbai", "ohio", "mumbai"], {
                topology: topology(),
                clusters: nodes,
                allocations: committed,
            });
            return { ohio: runs[2].result, mumbai: runs[3].result };
        };
        const kubernetes = (resources: Registered[], but: RegExp) =>
            resources.filter((r) => r.type.startsWith("kubernetes:") && !but.test(r.name)).map((r) => [r.type, r.name, r.inputs]);
        const before = await converged(clusters);
        const after = await converged({ ...clusters, ohio: [...clusters.ohio, node("ohio-c", "us-east-2a")] });

        assert.strictEqual(after.ohio.sites.ohio.nodes.find((n: any) => n.name === "ohio-c")?.range, "10.10.3.0/24", "the next free slot");
        const added = changes(before.ohio, after.ohio);
        assert.ok(
            added.some((c) => c.startsWith("+ aws:ec2/route:Route::ohio-node-ohio-c-")),
            added.join(", "),
        );
        assert.ok(added.includes("+ command:local:Command::ohio-source-dest-check-ohio-c"), added.join(", "));
        assert.deepStrictEqual(
            added.filter((c) => !c.startsWith("+ ") || !c.includes("ohio-c")),
            [],
            "in AWS, only the new node's own",
        );
        assert.deepStrictEqual(kubernetes(after.ohio.resources, /node-agent/), kubernetes(before.ohio.resources, /node-agent/));
        assert.notDeepStrictEqual(
            kubernetes(after.ohio.resources, /$^/),
            kubernetes(before.ohio.resources, /$^/),
            "the node agent learns the node",
        );
        assert.deepStrictEqual(changes(before.mumbai, after.mumbai), [], "the peer's AWS side is the same");
        assert.deepStrictEqual(kubernetes(after.mumbai.resources, /$^/), kubernetes(before.mumbai.resources, /$^/));
    });

    it("refuse a pool node that hosts an endpoint but does not say which instance it is, before any change", async () => {
        const topology = poolTopology();
        topology.sites.ohio.aws = exampleTopology().sites.ohio.aws;
        const clusters = CLUSTERS();
        clusters.ohio = clusters.ohio.map((n) => (n.name === "ohio-a" ? { ...n, providerId: "" } : n));
        const registered: Registered[] = [];
        const err = await rejection(runProgram({ stack: "ohio", topology, clusters, allocations: null, registered }));
        assert.deepStrictEqual(
            err.problems.map((p) => p.field),
            [`${T}.sites.ohio.pool`],
        );
        assert.match(
            err.problems[0].message,
            /node ohio-a of site ohio's pool hosts an endpoint but does not say which EC2 instance it is/,
        );
        assert.deepStrictEqual(
            registered.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack").map((r) => r.name),
            [],
            "nothing that changes a cluster or AWS is registered",
        );
    });
});
