// Many sites and links: the four-site examples (hub and spoke, full mesh), each site in its own
// stack or several in one, under mocks. Each stack must deploy exactly its own ends, and each
// site must reach exactly the sites it links to.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Registered, runProgram, RunResult, upInOrder } from "./harness";

const ROOT = path.join(__dirname, "..");
const ENDPOINT = "plumr:link:Endpoint";
const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const VPC_ROUTE = "aws:ec2/route:Route";
const RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const PEERING = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment";
const ACCEPTER = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter";

interface Example {
    name: string;
    topology: any;
    allocations: string;
}

function example(name: string): Example {
    const dir = path.join(ROOT, "examples", name);
    const topology = YAML.parse(fs.readFileSync(path.join(dir, "topology.yaml"), "utf8")).config["plumr:topology"].value;
    return { name, topology, allocations: fs.readFileSync(path.join(dir, "allocations.json"), "utf8") };
}

const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
const names = (resources: Registered[], type: string) => ofType(resources, type).map((r) => r.name);

/** The sites a site links to, from the topology. */
function linkedSites(topology: any, site: string): string[] {
    const peers = topology.links.flatMap((l: any) => (l.ends.some((e: any) => e.site === site) ? l.ends.map((e: any) => e.site) : []));
    return [...new Set<string>(peers)].filter((s) => s !== site).sort();
}

const linksOf = (topology: any, site: string): string[] =>
    topology.links.filter((l: any) => l.ends.some((e: any) => e.site === site)).map((l: any) => l.name);

const run = (ex: Example, stack: string, options: { sites?: string[]; stackOutputs?: Record<string, any> } = {}) =>
    runProgram({ stack, topology: ex.topology, allocations: ex.allocations, ...options });

for (const ex of [example("hub-and-spoke"), example("full-mesh")]) {
    const siteNames = Object.keys(ex.topology.sites).sort();

    describe(`the ${ex.name} example, one stack per site`, () => {
        const results: Record<string, RunResult> = {};
        before(async () => {
            for (const site of siteNames) results[site] = await run(ex, site);
        });

        it("has four sites and the links the example says", () => {
            assert.strictEqual(siteNames.length, 4);
            const expected = ex.name === "full-mesh" ? 6 : 3;
            assert.strictEqual(ex.topology.links.length, expected);
        });

        it("deploys exactly the stack's own ends, and publishes them keyed by link", () => {
            for (const site of siteNames) {
                const { resources, sites } = results[site];
                const own = linksOf(ex.topology, site);
                assert.deepStrictEqual(names(resources, ENDPOINT).sort(), own.map((l) => `${site}-${l}`).sort(), site);
                assert.deepStrictEqual(Object.keys(sites), [site]);
                assert.deepStrictEqual(Object.keys(sites[site].endpoints).sort(), [...own].sort(), site);
                const kubernetes = resources.filter((r) => r.type.startsWith("kubernetes:"));
                assert.ok(kubernetes.length > 0);
                for (const r of kubernetes) assert.strictEqual(r.provider, `${site}-cluster`, `${r.type} ${r.name}`);
            }
        });

        it("reads exactly the stacks of the sites it links to", () => {
            for (const site of siteNames) {
                const refs = ofType(results[site].resources, STACK_REFERENCE).map((r) => r.inputs.name);
                assert.deepStrictEqual(
                    refs.sort(),
                    linkedSites(ex.topology, site).map((s) => `organization/plumr/${s}`),
                    site,
                );
            }
        });

        it("routes and opens each site to exactly the sites it links to", () => {
            for (const site of siteNames) {
                const { resources } = results[site];
                const peers = linkedSites(ex.topology, site);
                const ranges = peers.map((p) => ex.topology.sites[p].bridgeRange).sort();
                const toTgw = ofType(resources, VPC_ROUTE).filter((r) => r.inputs.transitGatewayId !== undefined);
                assert.deepStrictEqual(toTgw.map((r) => r.inputs.destinationCidrBlock).sort(), ranges, `${site}: VPC routes`);
                const rules = ofType(resources, RULE);
                const icmp = rules.filter((r) => r.inputs.ipProtocol === "icmp").map((r) => r.inputs.cidrIpv4);
                assert.deepStrictEqual(icmp.sort(), ranges, `${site}: ICMP`);
                // One UDP rule per link end at this site, from the peer end's address only.
                const udp = rules.filter((r) => r.inputs.ipProtocol === "udp");
                const ends = results[site].links;
                const expected = linksOf(ex.topology, site).map((link) => {
                    const peer = ends[link].ends.find((e: any) => e.site !== site);
                    return `${peer.address}/32:${peer.port}`;
                });
                assert.deepStrictEqual(udp.map((r) => `${r.inputs.cidrIpv4}:${r.inputs.fromPort}`).sort(), expected.sort(), `${site}: UDP`);
            }
        });

        it("gives every link end a route to its peer site only", () => {
            for (const site of siteNames) {
                const { resources } = results[site];
                for (const nad of resources.filter((r) => r.type === "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition")) {
                    const link = nad.name.slice(site.length + 1, -"-attachment".length);
                    const peer = results[site].links[link].ends.find((e: any) => e.site !== site).site;
                    const routes: string[] = JSON.parse(nad.inputs.spec.config).ipam.routes.map((r: any) => r.dst);
                    const otherSites = siteNames.filter((s) => s !== site && s !== peer).map((s) => ex.topology.sites[s].bridgeRange);
                    assert.ok(routes.includes(ex.topology.sites[peer].bridgeRange), `${nad.name} routes to ${peer}`);
                    assert.ok(!routes.some((r) => otherSites.includes(r)), `${nad.name} routes to no other site: ${routes}`);
                }
            }
        });

        for (const [first, order] of [
            ["in name order", siteNames],
            ["in reverse name order", [...siteNames].reverse()],
        ] as const) {
            it(`converges in the documented order with no failing step, the first round ${first}`, async () => {
                // Round one: every stack, in any order. Round two: every stack in name order, so that
                // each requester has requested before its accepters accept. Round three: the
                // requesters, which route through their accepted peerings. Then nothing changes.
                const requesters = siteNames.filter((s) => linkedSites(ex.topology, s).some((p) => s < p));
                const rounds = [order, siteNames, requesters, siteNames];
                const { cloud, runs } = await upInOrder(rounds.flat(), { topology: ex.topology, allocations: ex.allocations });
                const last = runs.slice(-siteNames.length);
                for (const run of last) assert.deepStrictEqual(run.changed, [], `${run.stack} changes nothing in a fourth round`);
                for (const { stack: site, result } of last) {
                    const peers = linkedSites(ex.topology, site);
                    assert.deepStrictEqual(
                        names(result.resources, PEERING).sort(),
                        peers.filter((p) => site < p).map((p) => `${site}-peering-${p}`),
                        `${site} requests`,
                    );
                    assert.deepStrictEqual(
                        names(result.resources, ACCEPTER).sort(),
                        peers.filter((p) => site > p).map((p) => `${site}-peering-${p}`),
                        `${site} accepts`,
                    );
                    // In AWS: the site's Transit Gateway sends each linked range through an available attachment.
                    const table = cloud.tgwRouteTables.get(`tgw-rtb-of-${site}-tgw-id`)!;
                    const routed = peers.map((p) => {
                        const attachment = table.get(ex.topology.sites[p].bridgeRange)!;
                        return `${p}: ${cloud.attachments.get(attachment)?.kind} ${cloud.attachments.get(attachment)?.state}`;
                    });
                    assert.deepStrictEqual(
                        routed,
                        peers.map((p) => `${p}: peering available`),
                        `${site}: Transit Gateway routes`,
                    );
                }
                assert.deepStrictEqual(cloud.droppingRoutes(), []);
            });
        }
    });
}

describe("a stack that manages some of the full mesh's sites", () => {
    const ex = example("full-mesh");
    let result: RunResult;
    before(async () => {
        result = await run(ex, "americas-asia", { sites: ["ohio", "mumbai"] });
    });

    it("deploys the ends of both its sites and no other", () => {
        const expected = ["ohio", "mumbai"].flatMap((site) => linksOf(ex.topology, site).map((l) => `${site}-${l}`));
        assert.deepStrictEqual(names(result.resources, ENDPOINT).sort(), expected.sort());
    });

    it("wires the link between its own sites directly, and reads only the other sites' stacks", () => {
        const refs = ofType(result.resources, STACK_REFERENCE).map((r) => r.name);
        assert.deepStrictEqual(refs.sort(), ["peer-frankfurt", "peer-tokyo"]);
        assert.deepStrictEqual(names(result.resources, PEERING), ["mumbai-peering-ohio"]);
        assert.deepStrictEqual(names(result.resources, ACCEPTER), ["ohio-peering-mumbai"]);
    });

    it("says which stack deploys each end of every link", () => {
        const deployedBy = Object.fromEntries(
            Object.entries<any>(result.links).map(([name, link]) => [name, link.ends.map((e: any) => e.deployedBy)]),
        );
        assert.deepStrictEqual(deployedBy["ohio-mumbai"], ["americas-asia", "americas-asia"]);
        assert.deepStrictEqual(deployedBy["frankfurt-tokyo"], ["organization/plumr/frankfurt", "organization/plumr/tokyo"]);
    });
});

describe("adding and removing links in the full mesh", () => {
    const ex = example("full-mesh");
    /** Every resource's inputs by type and name. */
    const byName = (resources: Registered[]) => new Map(resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    let original: Map<string, string>;
    before(async () => {
        original = byName((await run(ex, "ohio")).resources);
    });

    it("adds only the new link's resources, first in the list or not", async () => {
        const topology = structuredClone(ex.topology);
        topology.links.unshift({
            name: "ohio-tokyo-bulk",
            ends: [
                { site: "ohio", node: topology.links[0].ends[0].node },
                { site: "tokyo", node: topology.sites.tokyo.nodes[0].name },
            ],
        });
        const after = byName((await runProgram({ stack: "ohio", topology, allocations: ex.allocations })).resources);
        for (const [key, inputs] of original) assert.strictEqual(after.get(key), inputs, key);
        const added = [...after.keys()].filter((key) => !original.has(key));
        assert.ok(added.length >= 5, `the new link's endpoint and rule: ${added}`);
        assert.deepStrictEqual(
            added.filter((key) => !key.includes("ohio-tokyo-bulk")),
            [],
        );
    });

    it("removes only the removed link's resources", async () => {
        const topology = structuredClone(ex.topology);
        topology.links = topology.links.filter((l: any) => l.name !== "ohio-mumbai");
        const after = byName((await runProgram({ stack: "ohio", topology, allocations: ex.allocations })).resources);
        const gone = [...original.keys()].filter((key) => !after.has(key));
        // It was Ohio's only link with Mumbai, so Ohio's routing and peering to Mumbai go with it.
        assert.ok(gone.length >= 5 && gone.every((key) => key.includes("mumbai")), `${gone}`);
        for (const [key, inputs] of after) assert.strictEqual(inputs, original.get(key), key);
    });
});
