// npm run demo: the shipped topology deployed onto two local clusters, one stack per site.
//   npm run demo            start the clusters, pulumi up ohio then mumbai, print a summary
//   npm run demo -- --down  destroy both stacks and stop the clusters
import * as pulumi from "@pulumi/pulumi/automation";
import { KubeApi, localClusterSpecs, startCluster, stopCluster } from "./localClusters";
import { prepareLocalDeployment, siteStack } from "./localStacks";
import { printTable } from "./table";

const say = (message: string) => console.log(`\n==> ${message}`);

function changes(summary: pulumi.UpdateSummary): string {
    // Reading the peer's StackReference is not a change.
    const counts = Object.entries(summary.resourceChanges ?? {}).filter(([op]) => op !== "same" && op !== "read");
    return counts.length === 0 ? "no changes" : counts.map(([op, n]) => `${n} ${op}`).join(", ");
}

async function up(): Promise<void> {
    const clusters = localClusterSpecs();
    say("starting the local clusters");
    for (const cluster of clusters) await startCluster(cluster);
    const deployment = prepareLocalDeployment("demo");
    // Every stack exists before the first up, so that each StackReference finds its peer.
    const stacks = [];
    for (const cluster of clusters) stacks.push(await siteStack(deployment, cluster));
    const outputs: Record<string, pulumi.OutputMap> = {};
    for (const [i, cluster] of clusters.entries()) {
        say(`pulumi up -s ${cluster.name}`);
        const stack = stacks[i];
        const result = await stack.up({ onOutput: (line) => process.stdout.write(line), color: "never" });
        console.log(`${cluster.name}: ${changes(result.summary)}`);
        outputs[cluster.name] = result.outputs;
    }
    await summary(clusters, outputs);
}

async function summary(clusters: ReturnType<typeof localClusterSpecs>, outputs: Record<string, pulumi.OutputMap>): Promise<void> {
    say("links");
    const rows: string[][] = [["link", "site", "node", "underlay", "tunnel", "port"]];
    const links = Object.values(outputs)[0]?.links?.value ?? {};
    for (const [name, link] of Object.entries<any>(links)) {
        for (const end of link.ends) rows.push([name, end.site, end.node, end.address, end.tunnelIp, String(end.port)]);
    }
    printTable(rows);

    say("in the clusters");
    for (const cluster of clusters) {
        const api = new KubeApi(cluster);
        const site = outputs[cluster.name]?.sites?.value?.[cluster.name];
        const namespace = site?.namespace ?? "plumr";
        const ds = await api.get(`/apis/apps/v1/namespaces/${namespace}/daemonsets/${site?.installer?.daemonSet ?? "plumr-installer"}`);
        console.log(
            `${cluster.name}: DaemonSet ${ds.metadata.name}: ${ds.status.numberReady}/${ds.status.desiredNumberScheduled} ready (binaries ${site?.installer?.binariesSha256?.slice(0, 12)})`,
        );
        const pods = (await api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dendpoint`))
            .items as any[];
        for (const pod of pods) {
            const ready = pod.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
            console.log(
                `${cluster.name}: endpoint pod ${pod.metadata.name} on ${pod.spec.nodeName}: ${ready ? "Ready" : pod.status?.phase}`,
            );
        }
    }
    console.log("\n(kwok simulates the nodes: pods are scheduled and reported Ready, but no container runs.)");
}

async function down(): Promise<void> {
    const clusters = localClusterSpecs();
    for (const cluster of clusters) await startCluster(cluster);
    const deployment = prepareLocalDeployment("demo");
    for (const cluster of [...clusters].reverse()) {
        say(`pulumi destroy -s ${cluster.name}`);
        const stack = await siteStack(deployment, cluster);
        await stack.destroy({ onOutput: (line) => process.stdout.write(line), color: "never" });
    }
    say("stopping the local clusters");
    for (const cluster of clusters) await stopCluster(cluster, true);
}

(process.argv.includes("--down") ? down() : up()).catch((err) => {
    console.error(`\ndemo failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
});
