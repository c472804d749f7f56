// The stacks of the peer sites this stack does not deploy, read through StackReferences: what
// they publish of their link ends and of their AWS side.
import * as pulumi from "@pulumi/pulumi";
import { siteStack } from "../planner/environments/environments";
import { EndFacts, readPeerSite } from "../planner/published";
import type { AwsFacts, EndPlan } from "../planner/types";

/** Reads another stack's published sites, one StackReference per peer site. */
export class PeerStacks {
    private readonly refs = new Map<string, pulumi.StackReference>();

    /** `names`: plumr:peerStacks; `environment`: the stack's environment, whose stacks are named `<environment>-<site>`. */
    constructor(
        private readonly names: Record<string, string>,
        private readonly environment: string | undefined,
    ) {}

    /** The stack that manages `site`: `plumr:peerStacks.<site>`, else `<org>/<project>/<site>` (`<environment>-<site>` in an environment). */
    stackName(site: string): string {
        return this.names[site] ?? `${pulumi.getOrganization()}/${pulumi.getProject()}/${siteStack(this.environment, site)}`;
    }

    private ref(site: string): pulumi.StackReference {
        const name = this.stackName(site);
        let ref = this.refs.get(name);
        if (!ref) {
            ref = new pulumi.StackReference(`peer-${site}`, { name });
            this.refs.set(name, ref);
        }
        return ref;
    }

    /** What the peer's stack publishes about its AWS side, if it has been deployed. */
    async awsFacts(site: string): Promise<AwsFacts | undefined> {
        const details = await this.ref(site).getOutputDetails("sites");
        return readPeerSite(details.value ?? details.secretValue, site, this.stackName(site))?.aws;
    }

    /**
     * What the stack of `end`'s site publishes for it; `bootstrap` (what the topology says) until
     * that stack has been deployed.
     */
    facts(end: EndPlan, bootstrap: EndFacts): pulumi.Output<EndFacts> {
        const name = this.stackName(end.site);
        const ref = this.ref(end.site);
        return ref.getOutput("sites").apply((sites: unknown) => {
            const published = readPeerSite(sites, end.site, name)?.endpoints?.[end.link];
            if (!published) {
                pulumi.log.info(`stack ${name} publishes no end of link ${end.link} yet; using the topology's values until it is deployed`);
                return bootstrap;
            }
            if (published.address !== bootstrap.address || published.tunnelIp !== bootstrap.tunnelIp || published.port !== bootstrap.port) {
                pulumi.log.warn(
                    `stack ${name} publishes ${JSON.stringify(published)} for its end of link ${end.link}, but the topology says ` +
                        `${JSON.stringify(bootstrap)}; this end follows what is deployed there. Run pulumi up on ${name} to converge.`,
                );
            }
            return published;
        });
    }
}
