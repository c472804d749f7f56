// Environments under mocks: two environments of the same links, staging and production, each a
// copy of the other on its own clusters, ranges and VPCs. Each stack deploys only its
// environment's sites and reads only its environment's peers; one environment's topology never
// reaches another's stacks; allocations are separate; and the misconfigurations that would mix
// environments, or make them collide where they share a cluster or a VPC, are errors with the fix.
import * as assert from "assert";
import {
    checkSharedInfrastructure,
    environmentAllocations,
    locateProblems,
    mergeEnvironment,
} from "../../planner/environments/environments";
import { ConfigError, Problems } from "../../planner/problems/errors";
import { formatAllocations } from "../../planner/addressing/allocations";
import { planAllocations } from "../../planner/plan";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, Registered, runProgram, RunOptions, upInOrder } from "../support/harness";
import { rejection } from "../support/problems";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const STACK_REFERENCE = "pulumi:pulumi:StackReference";

/** The shipped topology with its link between two named endpoints, so that environments can move the endpoints alone. */
function sharedTopology(): any {
    const t = exampleTopology();
    const [ohio, mumbai] = t.links[0].ends;
    t.endpoints = { "ohio-cam": ohio, "mumbai-cam": mumbai };
    t.links = [{ name: "ohio-mumbai", endpoints: ["ohio-cam", "mumbai-cam"] }];
    return t;
}

/** An AWS id of `kind` (vpc, subnet, i, ...) for environment number `env`: 17 hex digits, as AWS gives them. */
const awsId = (kind: string, env: number, n: number) => `${kind}-0${env}${String(n).padStart(15, "0")}`;

/**
 * What environment `name` changes of the shared topology: every site on clusters of its own (its
 * own node names and instances), in VPCs of its own, with bridge ranges 10.<second>.0.0/16 upward,
 * and the endpoints on its first nodes at allocated addresses.
 */
function otherClusters(name: string, env: number, second: number): any {
    const shared = sharedTopology();
    const sites: Record<string, any> = {};
    Object.entries<any>(shared.sites).forEach(([site, config], i) => {
        const octet = second + i;
        const id = (kind: string, n: number) => awsId(kind, env, i * 100 + n);
        sites[site] = {
            bridgeRange: `10.${octet}.0.0/16`,
            aws: {
                vpcId: id("vpc", 1),
                routeTableIds: [id("rtb", 1)],
                attachmentSubnets: config.aws.attachmentSubnets.map((s: any, k: number) => ({
                    subnetId: id("subnet", k + 1),
                    availabilityZone: s.availabilityZone,
                    routeTableId: id("rtb", 2),
                })),
                securityGroupIds: [id("sg", 1)],
            },
            nodes: config.nodes.map((node: any, k: number) => ({
                name: `${name}-${site}-${k + 1}`,
                range: `10.${octet}.${k + 1}.0/24`,
                instanceId: id("i", k + 1),
                availabilityZone: node.availabilityZone,
            })),
        };
    });
    return {
        sites,
        endpoints: {
            "ohio-cam": { node: `${name}-ohio-1`, address: null },
            "mumbai-cam": { node: `${name}-mumbai-1`, address: null },
        },
    };
}

const ENVIRONMENTS = () => ({
    staging: { patch: otherClusters("staging", 1, 30) },
    production: { patch: otherClusters("production", 2, 50) },
});

const run = (stack: string, environment: string, options: Partial<RunOptions> = {}) =>
    runProgram({ stack, environment, topology: sharedTopology(), environments: ENVIRONMENTS(), allocations: null, ...options });

const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);

function problemFor(err: ConfigError, field: string, message: RegExp) {
    const found = err.problems.find((p) => p.field === field && message.test(p.message));
    assert.ok(found, `no problem for ${field} matching ${message}; got:\n${JSON.stringify(err.problems, null, 2)}`);
    assert.ok(found.fix.length > 0);
    return found;
}

describe("environments", () => {
    it("merge an environment's file over the shared topology, with allocations of its own", () => {
        const shared = sharedTopology();
        const merged = mergeEnvironment(shared, otherClusters("staging", 1, 30), "staging");
        assert.strictEqual(merged.allocations, "environments/staging/allocations.json");
        assert.deepStrictEqual(
            merged.sites.ohio.nodes.map((n: any) => n.name),
            ["staging-ohio-1", "staging-ohio-2"],
        );
        // Maps merge: what the file leaves out stays as shared.
        assert.strictEqual(merged.sites.ohio.aws.region, "us-east-2");
        assert.strictEqual(merged.sites.ohio.platform, "openshift");
        assert.deepStrictEqual(merged.links, shared.links);
        // null removes: the shared endpoint's address is allocated instead.
        assert.ok(!("address" in merged.endpoints["ohio-cam"]));
        assert.strictEqual(merged.endpoints["ohio-cam"].site, "ohio");
        // Neither input changed.
        assert.deepStrictEqual(shared, sharedTopology());
        // An allocations file the environment names is kept.
        assert.strictEqual(mergeEnvironment(shared, { allocations: "alloc/staging.json" }, "staging").allocations, "alloc/staging.json");
    });

    describe("each stack deploys only its environment's sites, and reads only its environment's peers", () => {
        for (const [environment, other] of [
            ["staging", "production"],
            ["production", "staging"],
        ]) {
            for (const site of ["ohio", "mumbai"]) {
                it(`${environment}-${site}`, async () => {
                    const { resources } = await run(`${environment}-${site}`, environment);
                    const deployments = ofType(resources, DEPLOYMENT);
                    assert.ok(deployments.length > 0);
                    const text = JSON.stringify(resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => r.inputs));
                    assert.match(text, new RegExp(`"${environment}-${site}-1"`), `runs on ${environment}'s ${site} nodes`);
                    assert.doesNotMatch(text, new RegExp(`${other}-`), `nothing of ${other}`);
                    assert.doesNotMatch(text, /ip-10-/, "nothing of the shared topology's nodes");
                    const peer = site === "ohio" ? "mumbai" : "ohio";
                    assert.deepStrictEqual(
                        ofType(resources, STACK_REFERENCE).map((r) => r.inputs.name),
                        [`organization/plumr/${environment}-${peer}`],
                    );
                });
            }
        }
    });

    it("converge stack by stack, each environment on its own, in the documented rounds", async () => {
        for (const environment of ["staging", "production"]) {
            // The documented rounds, then one more that must find nothing left to do.
            const order = ["ohio", "mumbai", "ohio", "mumbai", "ohio"].map((s) => `${environment}-${s}`);
            const { runs } = await upInOrder(order, {
                environment,
                topology: sharedTopology(),
                environments: ENVIRONMENTS(),
                allocations: null,
            });
            const last = runs.at(-1)!;
            assert.deepStrictEqual(last.changed, [], `${environment}: after the documented rounds, nothing changes`);
            const ends = last.result.links["ohio-mumbai"];
            assert.ok(JSON.stringify(ends).includes(`"${environment}-mumbai-1"`), JSON.stringify(ends));
        }
    });

    it("a change to staging's topology changes no production stack's inputs", async () => {
        const before = ENVIRONMENTS();
        const after = ENVIRONMENTS();
        after.staging.patch.sites.ohio.nodes[0].range = "10.30.9.0/24";
        after.staging.patch.sites.ohio.namespace = "plumr-staging";
        const inputs = async (environments: any, stack: string, environment: string) =>
            JSON.stringify((await run(stack, environment, { environments })).resources.map((r) => [r.type, r.name, r.inputs]));
        for (const stack of ["production-ohio", "production-mumbai"]) {
            assert.strictEqual(await inputs(after, stack, "production"), await inputs(before, stack, "production"), stack);
        }
        // The change does reach staging's stack: the test would see one.
        assert.notStrictEqual(await inputs(after, "staging-ohio", "staging"), await inputs(before, "staging-ohio", "staging"));
    });

    it("keep their allocations apart: each stack deploys the addresses its environment's file records", async () => {
        const environments: any = ENVIRONMENTS();
        const recorded: Record<string, string> = {};
        for (const [name, { patch }] of Object.entries<any>(environments)) {
            const topology = parseTopology(mergeEnvironment(sharedTopology(), patch, name));
            assert.strictEqual(topology.allocations, environmentAllocations(name));
            const allocations = planAllocations(topology, undefined).record;
            // Record an address other than the first one the planner would give, to see the file being read.
            allocations.links["ohio-mumbai"].ends[0].address = allocations.links["ohio-mumbai"].ends[0].address.replace(/\.\d+$/, ".77");
            environments[name].allocations = formatAllocations(allocations);
            recorded[name] = allocations.links["ohio-mumbai"].ends[0].address;
        }
        assert.notStrictEqual(recorded.staging, recorded.production);
        for (const name of ["staging", "production"]) {
            const { links } = await run(`${name}-ohio`, name, { environments });
            assert.strictEqual(links["ohio-mumbai"].ends[0].address, recorded[name], name);
        }
    });

    describe("refuse what would mix environments", () => {
        it("a stack whose name is not <environment>-<site>", async () => {
            const err = await rejection(run("production-ohio", "staging"));
            const problem = problemFor(err, "plumr:environment", /named as a stack of environment production/);
            assert.match(problem.fix, /pulumi config set plumr:environment production/);
            const plain = await rejection(run("ohio", "staging"));
            assert.match(problemFor(plain, "plumr:environment", /does not start with staging-/).fix, /staging-<site>/);
        });

        it("an environment that does not exist, naming the ones that do", async () => {
            const err = await rejection(run("qa-ohio", "qa"));
            assert.match(problemFor(err, "plumr:environment", /no such environment/).fix, /one of production, staging/);
        });

        it("a stack without plumr:environment in a project with environments", async () => {
            const err = await rejection(runProgram({ stack: "staging-ohio", topology: sharedTopology(), environments: ENVIRONMENTS() }));
            assert.match(problemFor(err, "plumr:environment", /named as a stack of environment staging/).fix, /plumr:environment staging/);
            const plain = await rejection(runProgram({ stack: "ohio", topology: sharedTopology(), environments: ENVIRONMENTS() }));
            assert.match(
                problemFor(plain, "plumr:environment", /this project has environments \(production, staging\)/).fix,
                /stack init <environment>-<site>/,
            );
        });

        it("a peer stack of another environment", async () => {
            const err = await rejection(run("staging-ohio", "staging", { peerStacks: { mumbai: "organization/plumr/production-mumbai" } }));
            problemFor(err, "plumr:peerStacks.mumbai", /stack of environment production/);
            // Another organization's stack of the same environment is fine.
            const { resources } = await run("staging-ohio", "staging", { peerStacks: { mumbai: "acme/plumr/staging-mumbai" } });
            assert.deepStrictEqual(
                ofType(resources, STACK_REFERENCE).map((r) => r.inputs.name),
                ["acme/plumr/staging-mumbai"],
            );
        });

        it("names the environment's file for a value written there", async () => {
            const environments = ENVIRONMENTS();
            environments.staging.patch.sites.ohio.nodes[1].range = "10.99.1.0/24";
            const err = await rejection(run("staging-ohio", "staging", { environments }));
            problemFor(err, "environments/staging/topology.yaml: sites.ohio.nodes[1].range", /not inside the site's bridge range/);
        });
    });

    describe("where two environments share infrastructure", () => {
        /** Staging on production's clusters, in production's VPCs: the same nodes. */
        const onProductionsClusters = () => {
            const environments = ENVIRONMENTS();
            environments.staging.patch = structuredClone(environments.production.patch);
            return environments;
        };

        it("refuse the same namespace, bridge, binaries directory, node ranges and node agents on a shared cluster", async () => {
            const err = await rejection(run("staging-ohio", "staging", { environments: onProductionsClusters() }));
            const shared = /production's site ohio is on the same cluster \(both list node production-ohio-1\)/;
            assert.match(problemFor(err, "plumr:topology.sites.ohio.namespace", shared).fix, /own namespace/);
            problemFor(err, "plumr:topology.sites.ohio.bridgeName", shared);
            problemFor(err, "plumr:topology.binaries.hostPath", shared);
            problemFor(err, "environments/staging/topology.yaml: sites.ohio.nodes[0].range", /the same node production-ohio-1/);
            const agents = problemFor(
                err,
                "environments/staging/topology.yaml: sites.ohio.nodes[0].name",
                /node agents would keep its forwarding rules/,
            );
            assert.match(agents.fix, /nodes of its own/);
        });

        it("accept a shared cluster where each environment has its own namespace, bridge, directory and ranges, and leaves forwarding to the cluster", async () => {
            const environments = onProductionsClusters();
            const staging = environments.staging.patch;
            staging.binaries = { hostPath: "/var/lib/plumr-staging/bin" };
            for (const [i, site] of Object.entries<any>(staging.sites)) {
                const octet = 70 + Object.keys(staging.sites).indexOf(i);
                site.namespace = "plumr-staging";
                site.bridgeName = "br-staging";
                site.nodeNetwork = "cluster";
                site.bridgeRange = `10.${octet}.0.0/16`;
                site.nodes.forEach((n: any, k: number) => (n.range = `10.${octet}.${k + 1}.0/24`));
            }
            const { resources } = await run("staging-ohio", "staging", {
                environments,
                // With nodeNetwork: cluster, the preflight asks that the cluster forward (OpenShift: Global).
                clusterFacts: { ohio: { networkOperator: { networkType: "OVNKubernetes", ipForwarding: "Global" } } },
            });
            assert.ok(ofType(resources, DEPLOYMENT).length > 0);
        });

        it("tell clusters apart by their VPC, whatever their nodes are called", async () => {
            const environments = onProductionsClusters();
            for (const [i, site] of Object.values<any>(environments.staging.patch.sites).entries()) site.aws.vpcId = awsId("vpc", 3, i);
            const { resources } = await run("staging-ohio", "staging", { environments });
            assert.ok(ofType(resources, DEPLOYMENT).length > 0);
        });

        it("refuse overlapping bridge ranges in one VPC", () => {
            const topology = (patch: any, name: string) => ({
                name,
                topology: parseTopology(mergeEnvironment(sharedTopology(), patch, name)),
            });
            const production = otherClusters("production", 2, 50);
            const staging = otherClusters("staging", 1, 30);
            staging.sites.ohio.aws.vpcId = production.sites.ohio.aws.vpcId;
            staging.sites.ohio.bridgeRange = "10.50.0.0/15";
            staging.sites.ohio.nodes.forEach((n: any, k: number) => (n.range = `10.51.${k + 1}.0/24`));
            const problems = new Problems();
            checkSharedInfrastructure(topology(staging, "staging"), [topology(production, "production")], problems);
            assert.deepStrictEqual(
                locateProblems(problems.list, staging, "staging").map((p) => [p.field, p.message.replace(/:.*/, "")]),
                [
                    [
                        "environments/staging/topology.yaml: sites.ohio.bridgeRange",
                        "overlaps 10.50.0.0/16, the bridge range of environment production's site ohio in the same VPC vpc-02000000000000001",
                    ],
                ],
            );
            // Apart, they pass.
            const apart = new Problems();
            checkSharedInfrastructure(topology(otherClusters("staging", 1, 30), "staging"), [topology(production, "production")], apart);
            assert.deepStrictEqual(apart.list, []);
        });

        it("refuse two pools that pick their nodes with the same labels where they may share a cluster", () => {
            const topology = (patch: any, name: string) => ({
                name,
                topology: parseTopology(mergeEnvironment(sharedTopology(), patch, name)),
            });
            const pooled = (name: string, second: number, label: string) => {
                const patch = otherClusters(name, second, second === 1 ? 30 : 50);
                // Each site's cluster is the same in both environments: one VPC per site.
                for (const [siteName, site] of Object.entries<any>(patch.sites)) {
                    site.nodes = null;
                    site.pool = { selector: { "plumr.environment": label } };
                    site.aws = { ...site.aws, vpcId: siteName === "ohio" ? "vpc-0c0000000000000aa" : "vpc-0c0000000000000bb" };
                }
                for (const endpoint of Object.values<any>(patch.endpoints)) endpoint.node = null;
                return patch;
            };
            const problems = new Problems();
            checkSharedInfrastructure(
                topology(pooled("staging", 1, "shared"), "staging"),
                [topology(pooled("production", 2, "shared"), "production")],
                problems,
            );
            assert.deepStrictEqual(
                problems.list.map((p) => [p.field, p.message.replace(/:.*/, "")]),
                ["ohio", "mumbai"].map((site) => [
                    `plumr:topology.sites.${site}.pool.selector`,
                    `environment production's site ${site} picks its pool's nodes with the same labels`,
                ]),
            );
            const own = new Problems();
            checkSharedInfrastructure(
                topology(pooled("staging", 1, "staging"), "staging"),
                [topology(pooled("production", 2, "production"), "production")],
                own,
            );
            assert.deepStrictEqual(own.list, [], "labels of their own pass");
        });

        it("refuse one allocations file for two environments", async () => {
            const environments: any = ENVIRONMENTS();
            environments.staging.patch.allocations = "environments/production/allocations.json";
            const err = await rejection(run("staging-ohio", "staging", { environments }));
            problemFor(
                err,
                "environments/staging/topology.yaml: allocations",
                /environment production records its allocations in the same file/,
            );
        });
    });

    it("leave a project without environments as it was: its stacks are named after their sites", async () => {
        const { resources } = await runProgram({ stack: "ohio" });
        assert.deepStrictEqual(
            ofType(resources, STACK_REFERENCE).map((r) => r.inputs.name),
            ["organization/plumr/mumbai"],
        );
    });
});
