// One Kubernetes provider per site this stack deploys, registered as soon as the configuration is
// read: the engine then starts the provider plugin and connects it to the cluster while the rest
// of the program loads and the preflight reads the clusters. A provider changes nothing in a
// cluster, so registering it before the preflight's checks is safe.
import * as pulumi from "@pulumi/pulumi";
import { Provider } from "@pulumi/kubernetes/provider";
import type { Prepared } from "./prepare";

/** The provider of each site's cluster, by site; every Kubernetes resource of the site uses it. */
export function clusterProviders(prepared: Prepared): Record<string, Provider> {
    const providers: Record<string, Provider> = {};
    for (const site of prepared.managed) {
        const access = prepared.access[site];
        providers[site] = new Provider(
            `${site}-cluster`,
            {
                // A kubeconfig usually holds credentials: kept a secret in the state whatever the configuration says.
                kubeconfig: pulumi.secret(access.kubeconfig),
                context: access.context,
                // A new peer address updates the plumr config Secret in place (the endpoint rolls
                // through its config checksum) instead of replacing the Secret and the Deployment.
                enableSecretMutable: true,
            },
            // Once a child of the site's component.
            { aliases: [{ parent: pulumi.createUrn(site, "plumr:site:Site") }] },
        );
    }
    return providers;
}
