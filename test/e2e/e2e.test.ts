// End to end: the real Pulumi engine deploys the ohio and mumbai stacks onto the tests' own two
// local clusters (dev/local/localClusters.ts, instance e2e), through the Automation API with a local
// file backend.
import * as assert from "assert";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as path from "path";
import { ClusterSpec, KubeApi, kubeconfigPath } from "../../dev/local/localClusters";
import { ip } from "../../dev/local/localNodes";
import { upLocal } from "../../dev/local/localSlots";
import { routerNetns } from "../../dev/local/localUnderlay";
import { LocalDeployment, localPulumi, prepareLocalDeployment, preview, siteStack } from "../../dev/local/localStacks";
import { e2eClusters, E2E } from "../support/localClusters";
import { previewChanges } from "../support/previews";

const NAMESPACE = "plumr-e2e";
const LINK = "ohio-mumbai";
const POLICY_PACK = path.join(__dirname, "..", "..", "policy");

/** The shipped topology in a namespace of its own (so that its objects are easy to tell apart), with `change` applied. */
const topology =
    (change: (t: any) => void = () => {}) =>
    (t: any) => {
        for (const site of Object.values<any>(t.sites)) site.namespace = NAMESPACE;
        change(t);
    };

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const value = await check().catch(() => undefined);
        if (value !== undefined) return value;
        await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`timed out waiting for ${what}`);
}

const readyPods = async (api: KubeApi) =>
    ((await api.get(`/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=plumr%2Flink%3D${LINK}`)).items as any[]).filter((p) =>
        p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
    );

describe("end to end: both stacks on two local clusters", function () {
    this.timeout(30 * 60_000);
    let clusters: ClusterSpec[];
    let deployment: LocalDeployment;
    const stacks: Record<string, Stack> = {};
    const api: Record<string, KubeApi> = {};

    before(async () => {
        clusters = await e2eClusters();
        for (const c of clusters) api[c.name] = new KubeApi(c);
        deployment = prepareLocalDeployment(E2E, topology());
        for (const c of clusters) stacks[c.name] = await siteStack(deployment, c);
        // Whatever an interrupted earlier run left behind goes first.
        for (const c of [...clusters].reverse()) await stacks[c.name].destroy({ color: "never" });
    });

    it("deploys ohio, then mumbai, each into its own cluster", async () => {
        for (const name of ["ohio", "mumbai"]) {
            const result = await upLocal(stacks[name], E2E, { color: "never" });
            assert.strictEqual(result.summary.result, "succeeded");
        }
        for (const [site, peer] of [
            ["ohio", "10.20.1.200"],
            ["mumbai", "10.10.1.200"],
        ]) {
            const secret = await api[site].get(`/api/v1/namespaces/${NAMESPACE}/secrets/plumr-${LINK}-config`);
            const config = JSON.parse(Buffer.from(secret.data["config.json"], "base64").toString());
            assert.strictEqual(config.udp.remote_address, peer, `${site}'s config points at the other cluster's end`);
            const nad = await api[site].get(
                `/apis/k8s.cni.cncf.io/v1/namespaces/${NAMESPACE}/network-attachment-definitions/plumr-${LINK}`,
            );
            assert.deepStrictEqual(JSON.parse(nad.spec.config).capabilities, { ips: true });
            const ds = await api[site].get(`/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/plumr-node-agent`);
            assert.strictEqual(ds.status.numberReady, ds.status.desiredNumberScheduled);
            assert.strictEqual((await readyPods(api[site])).length, 1);
        }
        const otherCluster = await api.ohio.request("GET", `/api/v1/namespaces/${NAMESPACE}/secrets/plumr-${LINK}-config`);
        assert.strictEqual(otherCluster.status, 200);
        // Each pool is the nodes labelled for it (not the node outside it), each holding a slot that
        // the underlay routes to it, as the program's ENI routes do in AWS.
        for (const c of clusters) {
            const published: { name: string; range: string }[] = (await stacks[c.name].outputs()).sites.value[c.name].nodes;
            assert.deepStrictEqual(published.map((n) => n.name).sort(), c.realNodes.map((n) => n.name).sort(), `${c.name}'s pool`);
            assert.ok(c.kwokNodes.length > 0, `${c.name} has a node outside its pool`);
            for (const slot of published) {
                const via = c.realNodes.find((n) => n.name === slot.name)!.underlay.address;
                assert.match(ip("-n", routerNetns(E2E, c.name), "route", "show", slot.range), new RegExp(`^${slot.range} via ${via} `));
            }
        }
    });

    it("changes nothing on a second up", async () => {
        for (const name of ["ohio", "mumbai"]) {
            const result = await upLocal(stacks[name], E2E, { color: "never" });
            const changed = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same" && op !== "read");
            assert.deepStrictEqual(changed, [], `${name} changed on a second up`);
        }
    });

    it("previews exactly the expected updates when one end's address changes", async () => {
        prepareLocalDeployment(
            E2E,
            topology((t) => (t.links[0].ends[1].address = "10.20.1.201")),
        );
        assert.deepStrictEqual(await previewChanges(stacks.mumbai), [
            "update kubernetes:apps/v1:Deployment mumbai-ohio-mumbai",
            "update kubernetes:core/v1:Secret mumbai-ohio-mumbai-config",
        ]);
        await upLocal(stacks.mumbai, E2E, { color: "never" });
        assert.deepStrictEqual(await previewChanges(stacks.ohio), [
            "update kubernetes:apps/v1:Deployment ohio-ohio-mumbai",
            "update kubernetes:core/v1:Secret ohio-ohio-mumbai-config",
        ]);
        await upLocal(stacks.ohio, E2E, { color: "never" });
        prepareLocalDeployment(E2E, topology());
        await upLocal(stacks.mumbai, E2E, { color: "never" });
        await upLocal(stacks.ohio, E2E, { color: "never" });
    });

    it("passes the policy pack on preview", async () => {
        let output = "";
        const result = await preview(stacks.ohio, { policyPacks: [POLICY_PACK], color: "never", onOutput: (line) => (output += line) });
        assert.match(result.stdout + output, /plumr@v0\.1\.0/, "the policy pack ran");
        assert.doesNotMatch(result.stdout + output, /mandatory/);
    });

    it("fails the policy pack on a deliberately bad change", async () => {
        const pulumiCommand = await localPulumi();
        const bad = await LocalWorkspace.createOrSelectStack(
            { stackName: "bad-change", workDir: path.join(__dirname, "..", "fixtures", "bad-change") },
            { envVars: deployment.env, pulumiCommand },
        );
        await bad.setConfig("plumr-bad-change:kubeconfig", { value: kubeconfigPath(clusters[0]) });
        await assert.rejects(preview(bad, { policyPacks: [POLICY_PACK], color: "never" }), (err: Error) => {
            assert.match(err.message, /privileged-only-node-agent-and-plumr/);
            assert.match(err.message, /plumr-config-in-secrets/);
            return true;
        });
    });

    it("gets a deleted endpoint pod recreated", async () => {
        const [pod] = await readyPods(api.ohio);
        await api.ohio.request("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata.name}`);
        const replacement = await waitFor("a new Ready endpoint pod", async () => {
            const pods = (await readyPods(api.ohio)).filter((p) => p.metadata.uid !== pod.metadata.uid);
            return pods.length === 1 ? pods[0] : undefined;
        });
        assert.strictEqual(replacement.spec.nodeName, pod.spec.nodeName);
    });

    it("fails preview with the planner's message on a bad topology", async () => {
        prepareLocalDeployment(
            E2E,
            topology((t) => (t.links[0].ends[0].address = "10.10.0.200")),
        );
        try {
            await assert.rejects(preview(stacks.ohio, { color: "never" }), (err: Error) => {
                assert.match(
                    err.message,
                    /plumr:topology\.links\[0\]\.ends\[0\]\.address = "10\.10\.0\.200": not in a slot of site ohio's pool/,
                );
                return true;
            });
        } finally {
            prepareLocalDeployment(E2E, topology());
        }
    });

    it("destroys everything in both clusters", async () => {
        for (const name of ["mumbai", "ohio"]) await stacks[name].destroy({ color: "never" });
        for (const name of ["ohio", "mumbai"]) {
            await waitFor(`namespace ${NAMESPACE} gone from ${name}`, async () =>
                (await api[name].request("GET", `/api/v1/namespaces/${NAMESPACE}`)).status === 404 ? true : undefined,
            );
            const leftovers = await api[name].get("/api/v1/configmaps?labelSelector=app.kubernetes.io%2Fpart-of%3Dplumr");
            assert.deepStrictEqual(leftovers.items, []);
        }
    });
});
