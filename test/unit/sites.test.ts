// Many sites and links: the four-site examples (hub and spoke, full mesh), each site in its own
// stack or several in one, under mocks. Each stack must deploy exactly its own ends, and each
// site must reach exactly the sites it links to.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Registered, runProgram, RunResult, upInOrder } from "../support/harness";
import { exampleFile, readTopologyFile } from "../../lib/topologyFile";

const ROOT = path.join(__dirname, "..", "..");
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
    const dir = path.dirname(exampleFile(name));
    const topology = readTopologyFile(exampleFile(name));
    return { name, topology, allocations: fs.readFileSync(path.join(dir, "allocations.json"), "utf8") };
}

const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
const names = (resources: Registered[], type: string) => ofType(resources, type).map((r) => r.name);

/** A link's two ends as written, or taken from the endpoints it names, each with the name of its endpoint. */
const endsOf = (topology: any, link: any): { site: string; node: string; endpoint: string }[] =>
    link.ends?.map((e: any) => ({ ...e, endpoint: link.name })) ??
    link.endpoints.map((name: string) => ({ ...topology.endpoints[name], endpoint: name }));

/** The sites a site links to, from the topology. */
function linkedSites(topology: any, site: string): string[] {
    const peers = topology.links.flatMap((l: any) => {
        const ends = endsOf(topology, l);
        return ends.some((e) => e.site === site) ? ends.map((e) => e.site) : [];
    });
    return [...new Set<string>(peers)].filter((s) => s !== site).sort();
}

const linksOf = (topology: any, site: string): string[] =>
    topology.links.filter((l: any) => endsOf(topology, l).some((e) => e.site === site)).map((l: any) => l.name);

/** The Endpoint components a stack of `site` deploys: <site>-<endpoint>, one per endpoint (an end written in a link is one). */
const endpointsOf = (topology: any, site: string): string[] => [
    ...new Set<string>(
        topology.links.flatMap((l: any) =>
            endsOf(topology, l)
                .filter((e) => e.site === site)
                .map((e) => `${site}-${e.endpoint}`),
        ),
    ),
];

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
                assert.deepStrictEqual(names(resources, ENDPOINT).sort(), endpointsOf(ex.topology, site).sort(), site);
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

        it("gives every endpoint a route to its peer sites only", () => {
            for (const site of siteNames) {
                const { resources } = results[site];
                for (const nad of resources.filter((r) => r.type === "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition")) {
                    const endpoint = nad.name.slice(site.length + 1, -"-attachment".length);
                    const peers = ex.topology.links.flatMap((l: any) => {
                        const ends = endsOf(ex.topology, l);
                        return ends.some((e) => e.endpoint === endpoint)
                            ? ends.filter((e) => e.endpoint !== endpoint).map((e) => e.site)
                            : [];
                    });
                    assert.ok(peers.length > 0, `${nad.name} is an endpoint with links`);
                    const routes: string[] = JSON.parse(nad.inputs.spec.config).ipam.routes.map((r: any) => r.dst);
                    const peerRanges = siteNames.filter((s) => s !== site).map((s) => ex.topology.sites[s].bridgeRange);
                    assert.deepStrictEqual(
                        routes.filter((r) => peerRanges.includes(r)).sort(),
                        peers.map((p: string) => ex.topology.sites[p].bridgeRange).sort(),
                        `${nad.name} routes to exactly its peers' sites`,
                    );
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
                    // In AWS: what the site's VPC sends to each linked range crosses both gateways to that site's VPC.
                    const crossed = peers.map((p) => `${p}: ${cloud.trace(`${site}-tgw-vpc-id`, ex.topology.sites[p].bridgeRange).at(-1)}`);
                    assert.deepStrictEqual(
                        crossed,
                        peers.map((p) => `${p}: ${p}-tgw-id tgw-rtb-of-${p}-tgw-id -> ${p}-tgw-vpc-id`),
                        `${site}: through the Transit Gateways`,
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
        const expected = ["ohio", "mumbai"].flatMap((site) => endpointsOf(ex.topology, site));
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

    it("adds only the new link's resources, first in the list or not, its ends written in the link", async () => {
        const topology = structuredClone(ex.topology);
        topology.links.unshift({
            name: "ohio-tokyo-bulk",
            ends: [
                { site: "ohio", node: topology.endpoints.ohio.node },
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

    it("removes the removed link's resources, and changes only the two endpoints it joined and, their sites no longer linked, the node agent", async () => {
        const topology = structuredClone(ex.topology);
        topology.links = topology.links.filter((l: any) => l.name !== "ohio-mumbai");
        const after = byName((await runProgram({ stack: "ohio", topology, allocations: ex.allocations })).resources);
        const { removed, changed } = compare(original, after);
        // It was Ohio's only link with Mumbai, so Ohio's routing and peering to Mumbai go with it.
        assert.ok(removed.length >= 5 && removed.every((key) => key.includes("mumbai")), `${removed}`);
        // Ohio's endpoint loses a plumr, a config, a peer and its route to Mumbai, and Ohio's node
        // agent no longer forwards to and from Mumbai's range; nothing else of Ohio's changes.
        assert.deepStrictEqual(changed, [
            "kubernetes:apps/v1:DaemonSet::ohio-node-agent",
            "kubernetes:apps/v1:Deployment::ohio-ohio",
            "kubernetes:core/v1:Secret::ohio-ohio-config",
            "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition::ohio-ohio-attachment",
        ]);
    });
});

/** How the resources of two runs differ, by `<type>::<name>`, each list sorted. */
function compare(before: Map<string, string>, after: Map<string, string>) {
    return {
        added: [...after.keys()].filter((key) => !before.has(key)).sort(),
        removed: [...before.keys()].filter((key) => !after.has(key)).sort(),
        changed: [...after.keys()].filter((key) => before.has(key) && before.get(key) !== after.get(key)).sort(),
    };
}

describe("a third spoke for the hub", () => {
    const ex = example("hub-and-spoke");
    const byName = (resources: Registered[]) => new Map(resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    /** The example without Tokyo's link and endpoint: a hub with two spokes. */
    const twoSpokes = () => {
        const topology = structuredClone(ex.topology);
        topology.links = topology.links.filter((l: any) => l.name !== "ohio-tokyo");
        delete topology.endpoints.tokyo;
        return topology;
    };
    const runAll = async (topology: any) => {
        const all = new Map<string, string>();
        for (const site of Object.keys(topology.sites)) {
            for (const [key, inputs] of byName((await runProgram({ stack: site, topology, allocations: ex.allocations })).resources))
                all.set(`${site}::${key}`, inputs);
        }
        return all;
    };

    it("changes the hub's endpoint and adds the new spoke's, and no other endpoint's objects; the two sites' node agents learn each other's range", async () => {
        const { added, removed, changed } = compare(await runAll(twoSpokes()), await runAll(ex.topology));
        const kubernetes = (keys: string[]) => keys.filter((key) => key.includes("::kubernetes:"));
        assert.deepStrictEqual(removed, []);
        // Ohio and Tokyo are linked for the first time: each site's node agent forwards to and from the other's range.
        assert.deepStrictEqual(kubernetes(changed), [
            "ohio::kubernetes:apps/v1:DaemonSet::ohio-node-agent",
            "ohio::kubernetes:apps/v1:Deployment::ohio-hub",
            "ohio::kubernetes:core/v1:Secret::ohio-hub-config",
            "ohio::kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition::ohio-hub-attachment",
            "tokyo::kubernetes:apps/v1:DaemonSet::tokyo-node-agent",
        ]);
        assert.deepStrictEqual(kubernetes(added), [
            "tokyo::kubernetes:apps/v1:Deployment::tokyo-tokyo",
            "tokyo::kubernetes:core/v1:Secret::tokyo-tokyo-config",
            "tokyo::kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition::tokyo-tokyo-attachment",
        ]);
        // Besides the endpoints: only the AWS side of the new pair of sites, in Ohio's and Tokyo's stacks.
        for (const key of [...changed, ...added].filter((k) => !k.includes("::kubernetes:")))
            assert.match(key, /^(ohio|tokyo)::/, `${key} belongs to the two sites the new link joins`);
    });
});

describe("a hub whose spokes are in other stacks", () => {
    const ex = example("hub-and-spoke");

    it("finds a spoke through what the spoke's stack publishes: its config, its name and its line in the peers file", async () => {
        const ohio = await run(ex, "ohio");
        const mumbai = (await run(ex, "mumbai")).sites.mumbai.endpoints["ohio-mumbai"];
        // Mumbai's stack deployed its endpoint elsewhere than the topology says, and the hub follows it.
        const moved = { ...mumbai, address: "10.20.1.77" };
        const { resources } = await run(ex, "ohio", {
            stackOutputs: { "organization/plumr/mumbai": { sites: { mumbai: { endpoints: { "ohio-mumbai": moved } } } } },
        });
        const deployment = (rs: Registered[]) => rs.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "ohio-hub")!;
        const peersOf = (rs: Registered[]) => JSON.parse(deployment(rs).inputs.spec.template.metadata.annotations["plumr/peers"]).peers;
        assert.strictEqual(peersOf(ohio.resources).find((p: any) => p.endpoint === "mumbai").address, mumbai.address);
        assert.strictEqual(peersOf(resources).find((p: any) => p.endpoint === "mumbai").address, "10.20.1.77");
        const secret = resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "ohio-hub-config")!;
        assert.strictEqual(JSON.parse(secret.inputs.stringData["ohio-mumbai.json"]).udp.remote_address, "10.20.1.77");
        assert.deepStrictEqual(deployment(resources).inputs.spec.template.spec.hostAliases[0], {
            ip: mumbai.tunnelIp,
            hostnames: ["mumbai", "mumbai.mumbai"],
        });
        // The other spokes' lines stay as their (undeployed) stacks' topology values.
        assert.deepStrictEqual(
            peersOf(resources).filter((p: any) => p.endpoint !== "mumbai"),
            peersOf(ohio.resources).filter((p: any) => p.endpoint !== "mumbai"),
        );
    });
});

describe("links whose ends are written in the link", () => {
    // The shipped topology's endpoint objects, as the program rendered them before named endpoints
    // existed: a topology that names no endpoint must keep deploying exactly these. After a
    // deliberate change to them, rewrite the file with UPDATE_FIXTURES=1.
    const FIXTURE = path.join(ROOT, "test", "fixtures", "shipped-endpoints.json");

    it("render the objects they always did", async () => {
        const { resources } = await runProgram({ stack: "both", sites: ["ohio", "mumbai"] });
        const rendered: Record<string, unknown> = {};
        for (const r of resources
            .filter((r) => r.type.startsWith("kubernetes:") && r.name.includes("ohio-mumbai"))
            .sort((x, y) => `${x.type}::${x.name}`.localeCompare(`${y.type}::${y.name}`)))
            rendered[`${r.type}::${r.name}`] = r.inputs;
        if (process.env.UPDATE_FIXTURES === "1") fs.writeFileSync(FIXTURE, `${JSON.stringify(rendered, null, 2)}\n`);
        assert.deepStrictEqual(rendered, JSON.parse(fs.readFileSync(FIXTURE, "utf8")));
    });
});
