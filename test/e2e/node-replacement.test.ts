// End to end: a node of Ohio's pool replaced the way an EC2 node group replaces an instance that is
// gone (dev/local/nodeReplacement.ts), on the tests' own local clusters (instance e2e). The node
// that hosts Ohio's endpoint stops for good and a new node joins in its zone; `pulumi up` of Ohio's
// stack alone moves the endpoint onto the new node, in the slot the old one held: the same address,
// traffic through the tunnel both ways, npm run verify passing on both stacks, and nothing for
// Mumbai's stack to change. A node that joins the pool takes the next free slot, and one that leaves
// unused frees it, each changing nothing but the node agent. The instance gets its original nodes
// back at the end.
import * as assert from "assert";
import { Stack } from "@pulumi/pulumi/automation";
import { spawnSync } from "child_process";
import * as path from "path";
import * as YAML from "yaml";
import { verifyStack } from "../../commands/verify";
import { BIN, ClusterSpec, KubeApi, LocalNode, POOL_LABEL } from "../../dev/local/localClusters";
import { DeployedEnd, execIn, ping, readyPod } from "../../dev/local/linkProbe";
import { upLocal } from "../../dev/local/localSlots";
import { LocalDeployment, prepareLocalDeployment, preview, siteStack } from "../../dev/local/localStacks";
import { replaceNode, restoreNodes, startNewNode, stopNode } from "../../dev/local/nodeReplacement";
import { waitFor } from "../../lib/processes";
import { E2E, e2eClusters } from "../support/localClusters";
import { previewChanges } from "../support/previews";

const NAMESPACE = "plumr-e2e";
const LINK = "ohio-mumbai";

/** What a stack published of its site: each node of the pool with its slot's range, and the link's end. */
async function published(stack: Stack, site: string): Promise<{ nodes: Record<string, string>; end: any }> {
    const value = (await stack.outputs()).sites.value[site];
    return { nodes: Object.fromEntries(value.nodes.map((n: any) => [n.name, n.range])), end: value.endpoints[LINK] };
}

describe("end to end: the nodes of Ohio's pool replaced, added and removed", function () {
    this.timeout(30 * 60_000);
    let clusters: Record<string, ClusterSpec>;
    let deployment: LocalDeployment;
    const stacks: Record<string, Stack> = {};
    let ends: Record<string, DeployedEnd>;

    before(async () => {
        const list = await e2eClusters();
        clusters = Object.fromEntries(list.map((c) => [c.name, c]));
        deployment = prepareLocalDeployment(E2E, (t) => {
            for (const site of Object.values<any>(t.sites)) site.namespace = NAMESPACE;
        });
        for (const c of list) stacks[c.name] = await siteStack(deployment, c);
        // Whatever an interrupted earlier run left behind goes first.
        for (const c of [...list].reverse()) await stacks[c.name].destroy({ color: "never" });
        for (const site of ["ohio", "mumbai"]) await upLocal(stacks[site], E2E, { color: "never" });
        ends = {
            ohio: { cluster: clusters.ohio, namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.1", address: "10.10.1.200" },
            mumbai: { cluster: clusters.mumbai, namespace: NAMESPACE, link: LINK, tunnelIp: "10.4.0.2", address: "10.20.1.200" },
        };
    });

    after(async function () {
        this.timeout(10 * 60_000);
        for (const site of ["mumbai", "ohio"]) await stacks[site]?.destroy({ color: "never" }).catch(() => {});
        await restoreNodes(E2E);
    });

    it("prints with npm run discover the pool's nodes as the cluster lists them, each with its slot, instance and zone", async () => {
        const result = spawnSync("npx", ["ts-node", "--transpile-only", "commands/discover.ts", "ohio", "--cwd", deployment.projectDir], {
            cwd: path.join(__dirname, "..", ".."),
            env: { ...process.env, ...deployment.env },
            encoding: "utf8",
            timeout: 5 * 60_000,
        });
        assert.strictEqual(result.status, 0, result.stderr);
        const printed = YAML.parse(result.stdout).sites.ohio.nodes as {
            name: string;
            range: string;
            instanceId: string;
            availabilityZone: string;
        }[];
        const listed = (await new KubeApi(clusters.ohio).get(`/api/v1/nodes?labelSelector=${encodeURIComponent(POOL_LABEL)}`))
            .items as any[];
        assert.deepStrictEqual(
            printed.map((n) => `${n.name} aws:///${n.availabilityZone}/${n.instanceId}`).sort(),
            listed.map((n) => `${n.metadata.name} ${n.spec.providerID}`).sort(),
        );
        const { nodes } = await published(stacks.ohio, "ohio");
        assert.deepStrictEqual(Object.fromEntries(printed.map((n) => [n.name, n.range])), nodes, "each node in the slot the stack gave it");
    });

    it("moves the endpoint onto the new node, in the old node's slot: same address, traffic both ways, both stacks verified, Mumbai unchanged", async () => {
        const before = await published(stacks.ohio, "ohio");
        const gone: string = before.end.node;
        const oldPod = await waitFor("Ohio's endpoint pod", 120_000, () => readyPod(ends.ohio));
        assert.strictEqual(oldPod.spec.nodeName, gone);
        const zone = clusters.ohio.nodes.find((n) => n.name === gone)!.zone;

        const fresh: LocalNode = await replaceNode(E2E, "ohio", gone);
        const api = new KubeApi(clusters.ohio);
        assert.strictEqual((await api.request("GET", `/api/v1/nodes/${gone}`)).status, 404, "the old node is deleted");
        const node = await api.get(`/api/v1/nodes/${fresh.name}`);
        assert.strictEqual(node.spec.providerID, `aws:///${zone}/${fresh.instanceId}`, "an instance of its own, in the old node's zone");
        assert.strictEqual(node.metadata.labels[POOL_LABEL], "", "in the pool");
        assert.notStrictEqual(fresh.name, gone);

        const result = await upLocal(stacks.ohio, E2E, { color: "never" });
        assert.strictEqual(result.summary.result, "succeeded");
        const after = await published(stacks.ohio, "ohio");
        assert.strictEqual(after.end.node, fresh.name, "the endpoint follows its slot onto the new node");
        assert.strictEqual(after.end.address, before.end.address);
        const { [gone]: slot, ...kept } = before.nodes;
        assert.deepStrictEqual(
            after.nodes,
            { ...kept, [fresh.name]: slot },
            "the new node holds the old one's slot; the other keeps its own",
        );

        const pod = await waitFor("Ohio's endpoint pod on the new node", 300_000, async () => {
            const p = await readyPod(ends.ohio);
            return p?.spec.nodeName === fresh.name ? p : undefined;
        });
        const net1 = await execIn(ends.ohio, pod.metadata.name, "workload", ["ip", "-4", "-o", "addr", "show", "dev", "net1"]);
        assert.match(net1, new RegExp(`inet ${before.end.address.replace(/\./g, "\\.")}/24`));
        for (const [from, to] of [
            ["ohio", "mumbai"],
            ["mumbai", "ohio"],
        ]) {
            const replies = await waitFor(`a reply from ${to} through the tunnel`, 120_000, async () => {
                const p = await readyPod(ends[from]);
                const received = p && (await ping(ends[from], p.metadata.name, ends[to].tunnelIp, 3)).received;
                return received ? received : undefined;
            });
            assert.ok(replies > 0, `${from} reaches ${to}`);
        }

        for (const site of ["ohio", "mumbai"]) {
            const reports = await verifyStack(stacks[site], path.join(BIN, "kubectl"));
            for (const r of reports)
                for (const [name, check] of Object.entries(r.checks)) assert.ok(check.ok, `${site} ${name}: ${check.detail}`);
        }
        const mumbai = await preview(stacks.mumbai, { color: "never" });
        const changed = Object.entries(mumbai.changeSummary).filter(([op, n]) => op !== "same" && op !== "read" && (n ?? 0) > 0);
        assert.deepStrictEqual(changed, [], "Mumbai's stack has nothing to change");
    });

    it("gives a node that joins the pool the next free slot, and frees the slot of one that leaves unused, changing only the node agent", async () => {
        const before = await published(stacks.ohio, "ohio");
        const endpointPod = (await waitFor("Ohio's endpoint pod", 120_000, () => readyPod(ends.ohio))).metadata.uid;
        const used = new Set(Object.values(before.nodes));
        let slot = 1;
        while (used.has(`10.10.${slot}.0/24`)) slot++;
        const onlyTheNodeAgent = (changes: string[]) => {
            assert.ok(changes.length > 0, "the node agent learns the pool's ranges");
            for (const change of changes)
                assert.match(change, /^update \S+ ohio-node-agent/, `only the node agent changes: ${changes.join(", ")}`);
        };

        const joined = await startNewNode(E2E, "ohio", clusters.ohio.nodes[0].zone);
        onlyTheNodeAgent(await previewChanges(stacks.ohio));
        await upLocal(stacks.ohio, E2E, { color: "never" });
        const grown = await published(stacks.ohio, "ohio");
        assert.deepStrictEqual(
            grown.nodes,
            { ...before.nodes, [joined.name]: `10.10.${slot}.0/24` },
            "the new node takes the lowest free slot",
        );
        assert.deepStrictEqual(grown.end, before.end, "the endpoint stays where it is");

        await stopNode(E2E, "ohio", joined.name);
        onlyTheNodeAgent(await previewChanges(stacks.ohio));
        await upLocal(stacks.ohio, E2E, { color: "never" });
        const shrunk = await published(stacks.ohio, "ohio");
        assert.deepStrictEqual(shrunk.nodes, before.nodes, "the node's slot is free again, the others keep theirs");
        assert.deepStrictEqual(shrunk.end, before.end);

        assert.strictEqual((await readyPod(ends.ohio))?.metadata.uid, endpointPod, "the endpoint's pod ran on through both");
        assert.deepStrictEqual(await previewChanges(stacks.mumbai), [], "Mumbai's stack has nothing to change");
    });
});
