// End to end: the environments example (examples/environments) deployed with the real engine onto
// the tests' own local clusters (instance e2e), staging and production side by side on the same
// two clusters, each on the nodes labelled for it (its pools) and in a namespace of its own; then
// staging destroyed without touching production.
import * as assert from "assert";
import { Stack } from "@pulumi/pulumi/automation";
import * as path from "path";
import { ClusterSpec, ENVIRONMENT_NODE, KubeApi, localClusterSpecs } from "../../dev/local/localClusters";
import { DeployedEnd, ping, readyPod } from "../../dev/local/linkProbe";
import { upLocal } from "../../dev/local/localSlots";
import { LOCAL_ENVIRONMENTS, LocalDeployment, prepareLocalEnvironments, preview, siteStack } from "../../dev/local/localStacks";
import { stages } from "../../planner/environments/rollout";
import { parseTopology } from "../../planner/topology/schema";
import { environmentTopology } from "../../lib/topologyFile";
import { waitFor } from "../../lib/processes";
import { E2E, e2eClusters } from "../support/localClusters";

const LINK = "ohio-mumbai";

describe("end to end: two environments side by side on the local clusters", function () {
    this.timeout(30 * 60_000);
    let clusters: ClusterSpec[];
    let deployment: LocalDeployment;
    /** Each environment's stacks, by name. */
    const stacks: Record<string, Record<string, Stack>> = {};
    /** What each environment's stacks published about the link. */
    const links: Record<string, any> = {};

    /** The environment's ends of the link, as its stacks published them. */
    const ends = (env: string): DeployedEnd[] =>
        links[env].ends.map((end: any) => ({
            cluster: clusters.find((c) => c.name === end.site)!,
            namespace: `plumr-${env}`,
            link: LINK,
            endpoint: end.endpoint,
            tunnelIp: end.tunnelIp,
            address: end.address,
        }));

    /** The environment's pods in each cluster: name, uid, node and restarts. */
    async function podsOf(env: string): Promise<string[]> {
        const found: string[] = [];
        for (const cluster of clusters) {
            const pods = (await new KubeApi(cluster).get(`/api/v1/namespaces/plumr-${env}/pods`)).items as any[];
            for (const pod of pods) {
                const restarts = (pod.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + c.restartCount, 0);
                found.push(`${cluster.name} ${pod.metadata.name} ${pod.metadata.uid} ${pod.spec.nodeName} restarts=${restarts}`);
            }
        }
        return found.sort();
    }

    /** Pings each end's peer through the environment's tunnel; returns the replies of each direction. */
    async function traffic(env: string): Promise<number[]> {
        const [a, b] = ends(env);
        const received = [];
        for (const [from, to] of [
            [a, b],
            [b, a],
        ]) {
            const pod = await waitFor(`a Ready pod of ${from.endpoint} in ${env}`, 120_000, () => readyPod(from));
            received.push((await ping(from, pod.metadata.name, to.tunnelIp, 3)).received);
        }
        return received;
    }

    before(async () => {
        clusters = await e2eClusters();
        deployment = await prepareLocalEnvironments(E2E);
        for (const env of LOCAL_ENVIRONMENTS) {
            stacks[env] = {};
            for (const cluster of clusters) stacks[env][`${env}-${cluster.name}`] = await siteStack(deployment, cluster, env);
        }
    });

    after(async () => {
        for (const env of [...LOCAL_ENVIRONMENTS].reverse())
            for (const stack of Object.values(stacks[env] ?? {}).reverse()) await stack.destroy({ color: "never" }).catch(() => {});
    });

    it("deploys staging, then production, in the workflow's order: each on its own nodes and in its own namespace, each link carrying traffic", async () => {
        for (const env of LOCAL_ENVIRONMENTS) {
            const topology = parseTopology(environmentTopology(env, path.join(deployment.projectDir, "Pulumi.yaml")));
            for (const name of stages([{ name: env, topology }])[0].order) {
                const result = await upLocal(stacks[env][name], E2E, { color: "never" });
                links[env] = result.outputs.links.value[LINK];
            }
        }
        const specs = localClusterSpecs(E2E);
        for (const env of LOCAL_ENVIRONMENTS) {
            const pods = await podsOf(env);
            assert.strictEqual(pods.length, 4, `${env}: an endpoint and a node agent in each cluster: ${pods.join("; ")}`);
            for (const cluster of specs) {
                // The node labelled for the environment: its pool, and no other node of the cluster.
                const node = cluster.realNodes[ENVIRONMENT_NODE[env]].name;
                for (const pod of pods.filter((p) => p.startsWith(`${cluster.name} `)))
                    assert.strictEqual(pod.split(" ")[3], node, `${env}'s pods run on its own node of ${cluster.name}: ${pod}`);
            }
            // Each environment's stacks read its own peer: the ends they publish are the environment's own.
            for (const end of links[env].ends)
                assert.strictEqual(end.node, specs.find((c) => c.name === end.site)!.realNodes[ENVIRONMENT_NODE[env]].name);
            assert.deepStrictEqual(
                (await traffic(env)).map((n) => n > 0),
                [true, true],
                `${env}'s link carries traffic both ways`,
            );
        }
        assert.notDeepStrictEqual(
            links.staging.ends.map((e: any) => e.address),
            links.production.ends.map((e: any) => e.address),
        );
    });

    it("destroys staging without touching production", async () => {
        const before = await podsOf("production");
        for (const stack of Object.values(stacks.staging).reverse()) await stack.destroy({ color: "never" });
        for (const cluster of clusters) {
            await waitFor(`namespace plumr-staging gone from ${cluster.name}`, 120_000, async () => {
                const namespaces = (await new KubeApi(cluster).get("/api/v1/namespaces")).items as any[];
                return namespaces.some((n) => n.metadata.name === "plumr-staging") ? undefined : true;
            });
        }
        assert.deepStrictEqual(await podsOf("production"), before, "the same production pods, none restarted");
        assert.deepStrictEqual(
            (await traffic("production")).map((n) => n > 0),
            [true, true],
        );
        for (const stack of Object.values(stacks.production)) {
            const result = await preview(stack, { color: "never" });
            const changed = Object.entries(result.changeSummary).filter(([op, n]) => op !== "same" && op !== "read" && (n ?? 0) > 0);
            assert.deepStrictEqual(changed, [], `${stack.name} has nothing to change`);
        }
    });
});
