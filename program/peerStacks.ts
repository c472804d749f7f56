// The stacks of the peer sites this stack does not deploy, read through StackReferences: what
// they publish of their link ends and of their AWS side.
import * as pulumi from "@pulumi/pulumi";
import { siteStack } from "../planner/environments/environments";
import { EndFacts, PeerSite, readPeerSite } from "../planner/published";
import type { AwsFacts, EndPlan } from "../planner/types";
import { PROGRAM_VERSION } from "./version";

/** Reads another stack's published sites, one StackReference per peer site. */
export class PeerStacks {
    private readonly refs = new Map<string, pulumi.StackReference>();
    /** The stacks whose version this run has warned of: once each. */
    private readonly warned = new Set<string>();

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

    /**
     * `site` as its stack publishes it in `sites`; undefined until it is deployed. A contract this
     * program cannot read fails, and an older one it reads is warned of once, naming the stack to upgrade.
     */
    private read(sites: unknown, site: string): PeerSite | undefined {
        const name = this.stackName(site);
        const read = readPeerSite(sites, site, name, { stack: pulumi.getStack(), programVersion: PROGRAM_VERSION });
        if (read?.warning && !this.warned.has(name)) {
            this.warned.add(name);
            pulumi.log.warn(read.warning);
        }
        return read?.site;
    }

    /** What the peer's stack publishes about its AWS side, if it has been deployed. */
    async awsFacts(site: string): Promise<AwsFacts | undefined> {
        const details = await this.ref(site).getOutputDetails("sites");
        return this.read(details.value ?? details.secretValue, site)?.aws;
    }

    /**
     * What the stack of `end`'s site publishes for it; `bootstrap` (what the topology says) until
     * that stack has been deployed.
     */
    facts(end: EndPlan, bootstrap: EndFacts): pulumi.Output<EndFacts> {
        const name = this.stackName(end.site);
        const ref = this.ref(end.site);
        return ref.getOutput("sites").apply((sites: unknown) => {
            const published = this.read(sites, end.site)?.endpoints?.[end.link];
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
