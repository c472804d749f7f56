// Unit tests of the pure planner: shape checks, validation rules, allocation and rendering.
// Nothing here touches Pulumi.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as a from "../../planner/addressing/addresses";
import { attachmentConfig, networksAnnotation } from "../../planner/cluster/attachment";
import { Problem } from "../../planner/problems/errors";
import { LocalFiles } from "../../planner/files/localFiles";
import { endsAt, managedSites, peerOf, planTopology } from "../../planner/plan";
import type { Plan } from "../../planner/types";
import { PLACEHOLDERS, renderTemplate, TemplateValues, unknownPlaceholders } from "../../planner/files/template";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, plannerFiles } from "../support/harness";
import { Expected, expectProblem, problemsOf } from "../support/problems";

const REPO = path.join(__dirname, "..", "..");
const EXAMPLE = exampleTopology();
const TEMPLATE = fs.readFileSync(path.join(REPO, "plumr", "config.template.json"), "utf8");

const OHIO_NODE = "ip-10-0-154-10.us-east-2.compute.internal";
const OHIO_NODE_2 = "ip-10-0-171-33.us-east-2.compute.internal";
const MUMBAI_NODE = "ip-10-1-241-95.ap-south-1.compute.internal";

const T = "plumr:topology";

/** A fresh copy of the shipped example topology, as the user wrote it (no defaults filled). */
function example(): any {
    return structuredClone(EXAMPLE);
}

const localFiles = plannerFiles;

/** Parses and plans a raw topology. */
function plan(raw: unknown, files: LocalFiles = localFiles()): Plan {
    return planTopology(parseTopology(raw), files);
}

/** Adds a second Ohio <-> Mumbai link on the same nodes as the first. */
function addLink(raw: any, name: string, ohioAddress?: string, mumbaiAddress?: string): any {
    raw.links.push({
        name,
        ends: [
            { site: "ohio", node: OHIO_NODE, ...(ohioAddress ? { address: ohioAddress } : {}) },
            { site: "mumbai", node: MUMBAI_NODE, ...(mumbaiAddress ? { address: mumbaiAddress } : {}) },
        ],
    });
    return raw;
}

/** Plans the topology, then asserts a problem (see expectProblem). */
function expectPlanProblem(raw: any, field: string, expected: Expected = {}, files?: LocalFiles): Problem {
    return expectProblem(() => plan(raw, files), field, expected);
}

/** Recursively sorts object keys, to check that a JSON text is in canonical (sorted) form. */
function sortKeys(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(
            Object.keys(value)
                .sort()
                .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
        );
    }
    return value;
}

describe("planTopology: the shipped example", () => {
    it("plans exactly the original Ohio <-> Mumbai demo", () => {
        const p = plan(example());
        assert.deepStrictEqual(
            p.links.map((l) => l.name),
            ["ohio-mumbai"],
        );
        const [link] = p.links;
        assert.strictEqual(link.tunnelSubnet, "10.4.0.0/30");
        assert.strictEqual(link.mtu, 1452);
        assert.deepStrictEqual(link.ends[0], {
            link: "ohio-mumbai",
            site: "ohio",
            node: OHIO_NODE,
            device: "tun",
            address: "10.10.1.200",
            prefixLength: 24,
            gateway: "10.10.1.1",
            tunnelIp: "10.4.0.1",
            tunnelPrefixLength: 30,
            port: 5000,
            routes: ["10.10.2.0/24", "10.20.0.0/16"],
        });
        assert.deepStrictEqual(link.ends[1], {
            link: "ohio-mumbai",
            site: "mumbai",
            node: MUMBAI_NODE,
            device: "tun",
            address: "10.20.1.200",
            prefixLength: 24,
            gateway: "10.20.1.1",
            tunnelIp: "10.4.0.2",
            tunnelPrefixLength: 30,
            port: 5000,
            routes: ["10.20.2.0/24", "10.20.3.0/24", "10.10.0.0/16"],
        });
    });

    it("computes each node's gateway and packages both binaries", () => {
        const p = plan(example());
        assert.deepStrictEqual(
            p.sites.ohio.nodes.map((n) => [n.name, n.range, n.gateway]),
            [
                [OHIO_NODE, "10.10.1.0/24", "10.10.1.1"],
                [OHIO_NODE_2, "10.10.2.0/24", "10.10.2.1"],
            ],
        );
        assert.deepStrictEqual(
            p.sites.mumbai.nodes.map((n) => n.gateway),
            ["10.20.1.1", "10.20.2.1", "10.20.3.1"],
        );
        assert.strictEqual(p.sites.ohio.sidecarImage, "quay.io/dosmith/fedora-vlc-iptools:gen2");
        assert.strictEqual(p.template, TEMPLATE);
        assert.deepStrictEqual(
            p.binaries.packages.map((pkg) => [pkg.name, pkg.size]),
            [
                ["plumr", 3000],
                ["shm_printer", 3000],
            ],
        );
    });

    it("endsAt lists a site's ends and peerOf gives the other end", () => {
        const p = plan(example());
        const [ohio, mumbai] = p.links[0].ends;
        assert.deepStrictEqual(endsAt(p, "ohio"), [ohio]);
        assert.deepStrictEqual(endsAt(p, "mumbai"), [mumbai]);
        assert.deepStrictEqual(endsAt(p, "texas"), []);
        assert.strictEqual(peerOf(p, ohio), mumbai);
        assert.strictEqual(peerOf(p, mumbai), ohio);
    });
});

describe("planTopology: ranges", () => {
    it("rejects a malformed bridgeRange", () => {
        const raw = example();
        raw.sites.ohio.bridgeRange = "10.10.0.0";
        expectPlanProblem(raw, `${T}.sites.ohio.bridgeRange`, { value: "10.10.0.0", message: /not an IPv4 CIDR/ });
    });

    it("rejects a malformed node range", () => {
        const raw = example();
        raw.sites.ohio.nodes[0].range = "10.10.1.0/33";
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[0].range`, { value: "10.10.1.0/33", message: /not an IPv4 CIDR/ });
    });

    it("rejects a malformed tunnel pool", () => {
        const raw = example();
        raw.tunnel.pool = "10.4.0/24";
        expectPlanProblem(raw, `${T}.tunnel.pool`, { value: "10.4.0/24", message: /not an IPv4 CIDR/ });
    });

    it("rejects a range with host bits set and suggests the network", () => {
        const raw = example();
        raw.sites.ohio.nodes[0].range = "10.10.1.5/24";
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[0].range`, {
            value: "10.10.1.5/24",
            message: /host bits/,
            fix: /10\.10\.1\.0\/24/,
        });
    });

    it("rejects bridge ranges of two sites that overlap", () => {
        const raw = example();
        raw.sites.mumbai.bridgeRange = "10.0.0.0/8";
        expectPlanProblem(raw, `${T}.sites.mumbai.bridgeRange`, { value: "10.0.0.0/8", message: /overlaps site ohio/ });
    });

    it("rejects node ranges that overlap within a site", () => {
        const raw = example();
        raw.sites.ohio.nodes[1].range = "10.10.1.128/25";
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[1].range`, { value: "10.10.1.128/25", message: /overlaps/ });
    });

    it("rejects a node range outside its site's bridge range", () => {
        const raw = example();
        raw.sites.ohio.nodes[1].range = "10.30.2.0/24";
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[1].range`, { value: "10.30.2.0/24", message: /not inside/ });
    });

    it("rejects a node range too small for a gateway and an endpoint", () => {
        const raw = example();
        raw.sites.ohio.nodes[1].range = "10.10.2.0/31";
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[1].range`, { value: "10.10.2.0/31", message: /too small/ });
    });

    it("rejects a node listed twice in a site", () => {
        const raw = example();
        raw.sites.ohio.nodes[1].name = OHIO_NODE;
        expectPlanProblem(raw, `${T}.sites.ohio.nodes[1].name`, {
            value: OHIO_NODE,
            message: /^plumr:topology\.sites\.ohio\.nodes\[0\]\.name has this node name too$/,
        });
    });

    it("rejects a tunnel pool that overlaps a bridge range", () => {
        const raw = example();
        raw.tunnel.pool = "10.10.200.0/24";
        expectPlanProblem(raw, `${T}.tunnel.pool`, { value: "10.10.200.0/24", message: /overlaps site ohio/ });
    });

    it("rejects a tunnel pool too small for every link", () => {
        const raw = addLink(example(), "second", "10.10.1.201", "10.20.1.201");
        raw.tunnel.pool = "10.4.0.0/30";
        expectPlanProblem(raw, `${T}.tunnel.pool`, { value: "10.4.0.0/30", message: /exhausted/ });
        // The same pool holds the single link of the example.
        const single = example();
        single.tunnel.pool = "10.4.0.0/30";
        assert.strictEqual(plan(single).links[0].tunnelSubnet, "10.4.0.0/30");
    });
});

describe("planTopology: link ends", () => {
    it("rejects a malformed endpoint address", () => {
        for (const bad of ["10.10.1", "10.10.1.300", "ten"]) {
            const raw = example();
            raw.links[0].ends[0].address = bad;
            expectPlanProblem(raw, `${T}.links[0].ends[0].address`, { value: bad, message: /not an IPv4 address/ });
        }
    });

    it("rejects an endpoint address outside its node's range", () => {
        const raw = example();
        raw.links[0].ends[0].address = "10.10.2.200"; // the other Ohio node's range
        expectPlanProblem(raw, `${T}.links[0].ends[0].address`, { value: "10.10.2.200", message: /outside node/ });
    });

    it("rejects the network address of the node range", () => {
        const raw = example();
        raw.links[0].ends[0].address = "10.10.1.0";
        expectPlanProblem(raw, `${T}.links[0].ends[0].address`, { value: "10.10.1.0", message: /network address/ });
    });

    it("rejects the broadcast address of the node range", () => {
        const raw = example();
        raw.links[0].ends[1].address = "10.20.1.255";
        expectPlanProblem(raw, `${T}.links[0].ends[1].address`, { value: "10.20.1.255", message: /broadcast address/ });
    });

    it("rejects the gateway (.1) address of the node range", () => {
        const raw = example();
        raw.links[0].ends[0].address = "10.10.1.1";
        expectPlanProblem(raw, `${T}.links[0].ends[0].address`, { value: "10.10.1.1", message: /gateway/ });
    });

    it("rejects a node that is not in the end's site", () => {
        const raw = example();
        raw.links[0].ends[0].node = MUMBAI_NODE;
        expectPlanProblem(raw, `${T}.links[0].ends[0].node`, { value: MUMBAI_NODE, message: /not a node of site ohio/ });
    });

    it("rejects an end naming an unknown site", () => {
        const raw = example();
        raw.links[0].ends[1].site = "texas";
        expectPlanProblem(raw, `${T}.links[0].ends[1].site`, { value: "texas", message: /no such site/ });
    });

    it("rejects a link whose ends are in the same site", () => {
        const raw = example();
        raw.links[0].ends[1] = { site: "ohio", node: OHIO_NODE_2, address: "10.10.2.200" };
        expectPlanProblem(raw, `${T}.links[0].ends`, { value: ["ohio", "ohio"], message: /same site/ });
    });

    it("rejects two links with the same name", () => {
        const raw = addLink(example(), "ohio-mumbai", "10.10.1.201", "10.20.1.201");
        expectPlanProblem(raw, `${T}.links[1].name`, { value: "ohio-mumbai", message: /links\[0\]\.name has this link name too/ });
    });

    it("rejects the same address for two links' ends on one node", () => {
        const raw = addLink(example(), "second", "10.10.1.200", "10.20.1.201");
        expectPlanProblem(raw, `${T}.links[1].ends[0].address`, { value: "10.10.1.200", message: /already used/ });
    });
});

describe("planTopology: tunnel MTU", () => {
    function withMtu(mtu: number, protocolOverhead?: number): any {
        const raw = example();
        raw.tunnel.mtu = mtu;
        if (protocolOverhead !== undefined) raw.tunnel.protocolOverhead = protocolOverhead;
        return raw;
    }

    it("accepts underlayMtu - 28 - protocolOverhead (1452 by default) and rejects one more", () => {
        assert.strictEqual(plan(withMtu(1452)).links[0].mtu, 1452);
        expectPlanProblem(withMtu(1453), `${T}.tunnel.mtu`, { value: 1453, fix: /1452/ });
    });

    it("counts protocolOverhead: with 0, 1472 passes and 1473 fails", () => {
        assert.strictEqual(plan(withMtu(1472, 0)).links[0].mtu, 1472);
        expectPlanProblem(withMtu(1473, 0), `${T}.tunnel.mtu`, { value: 1473, fix: /1472/ });
    });
});

describe("planTopology: sites", () => {
    it("rejects the macvlan attachment on an AWS site", () => {
        const raw = example();
        raw.sites.ohio.attachment = "macvlan";
        expectPlanProblem(raw, `${T}.sites.ohio.attachment`, { value: "macvlan", message: /AWS/ });
    });

    it("accepts the macvlan attachment on a site without aws", () => {
        const raw = example();
        raw.sites.ohio.attachment = "macvlan";
        delete raw.sites.ohio.aws;
        assert.strictEqual(plan(raw).sites.ohio.config.attachment, "macvlan");
    });

    it("rejects an invalid AWS region name", () => {
        for (const bad of ["us-east", "US-EAST-2", "useast2", "us-east-2a"]) {
            const raw = example();
            raw.sites.mumbai.aws.region = bad;
            expectPlanProblem(raw, `${T}.sites.mumbai.aws.region`, { value: bad, message: /region/ });
        }
        const gov = example();
        gov.sites.mumbai.aws.region = "us-gov-west-1";
        // Zones are named after their region.
        for (const zoned of [...gov.sites.mumbai.aws.attachmentSubnets, ...gov.sites.mumbai.nodes]) {
            zoned.availabilityZone = zoned.availabilityZone.replace("ap-south-1", "us-gov-west-1");
        }
        assert.strictEqual(plan(gov).sites.mumbai.config.aws?.region, "us-gov-west-1");
    });
});

describe("planTopology: local files", () => {
    it("rejects a config template with an unknown placeholder, naming it and its line", () => {
        const lines = TEMPLATE.split("\n");
        lines.splice(2, 0, '  "extra": "{{FOO}}",'); // becomes line 3
        const problem = expectPlanProblem(
            example(),
            `${T}.configTemplate`,
            { value: "plumr/config.template.json" },
            localFiles({ template: lines.join("\n") }),
        );
        assert.match(problem.message, /\{\{FOO\}\}/);
        assert.match(problem.message, /line 3\b/);
    });

    it("rejects a missing config template", () => {
        const problem = expectPlanProblem(
            example(),
            `${T}.configTemplate`,
            { value: "plumr/config.template.json" },
            localFiles({ template: undefined }),
        );
        assert.match(problem.message, /\/project\/plumr\/config\.template\.json/);
    });

    for (const name of ["plumr", "shm_printer"] as const) {
        it(`rejects a missing ${name} binary`, () => {
            const files = localFiles();
            delete files.binaries[name];
            expectPlanProblem(example(), `${T}.binaries.dir`, { value: "binaries", message: new RegExp(`\\b${name}\\b.*missing`) }, files);
        });

        it(`rejects an empty ${name} binary`, () => {
            const files = localFiles();
            files.binaries[name] = Buffer.alloc(0);
            expectPlanProblem(example(), `${T}.binaries.dir`, { value: "binaries", message: new RegExp(`/${name} is empty`) }, files);
        });
    }
});

describe("planTopology: several problems", () => {
    it("reports every problem in one ConfigError", () => {
        const raw = example();
        raw.sites.ohio.bridgeRange = "10.10.0.0/33";
        raw.links[0].ends[1].address = "10.20.9.9";
        raw.tunnel.mtu = 1500;
        const { problems, message } = problemsOf(() => plan(raw, localFiles({ template: undefined })));
        assert.ok(problems.length >= 4, JSON.stringify(problems, null, 2));
        for (const field of [`${T}.sites.ohio.bridgeRange`, `${T}.links[0].ends[1].address`, `${T}.tunnel.mtu`, `${T}.configTemplate`]) {
            assert.ok(
                problems.some((p) => p.field === field),
                `no problem for ${field}`,
            );
            assert.ok(message.includes(field), `the message does not name ${field}`);
        }
        assert.match(message, new RegExp(`\\(${problems.length} problems\\)`));
    });
});

describe("planTopology: allocation", () => {
    it("gives an end without address the lowest free host after the gateway", () => {
        const raw = example();
        delete raw.links[0].ends[0].address;
        delete raw.links[0].ends[1].address;
        const [ohio, mumbai] = plan(raw).links[0].ends;
        assert.strictEqual(ohio.address, "10.10.1.2");
        assert.strictEqual(mumbai.address, "10.20.1.2");
    });

    it("skips addresses given explicitly to other ends on the same node, even in later links", () => {
        const raw = addLink(example(), "second", "10.10.1.2", "10.20.1.201");
        delete raw.links[0].ends[0].address;
        const p = plan(raw);
        assert.strictEqual(p.links[0].ends[0].address, "10.10.1.3");
        assert.strictEqual(p.links[1].ends[0].address, "10.10.1.2");
    });

    it("allocates distinct addresses to ends on the same node", () => {
        const raw = addLink(example(), "second");
        delete raw.links[0].ends[0].address;
        delete raw.links[0].ends[1].address;
        const p = plan(raw);
        assert.deepStrictEqual(
            p.links.map((l) => l.ends.map((e) => e.address)),
            [
                ["10.10.1.2", "10.20.1.2"],
                ["10.10.1.3", "10.20.1.3"],
            ],
        );
    });

    it("reports a node range with no free address left", () => {
        const raw = addLink(example(), "second", undefined, "10.20.1.201");
        raw.sites.ohio.nodes[0].range = "10.10.1.0/30"; // one host after the gateway: .2
        delete raw.links[0].ends[0].address;
        expectPlanProblem(raw, `${T}.links[1].ends[0].address`, { message: /no free address/ });
    });

    it("with prefixLength 31, gives the first link 10.4.0.0 and 10.4.0.1", () => {
        const raw = example();
        raw.tunnel.prefixLength = 31;
        const [link] = plan(raw).links;
        assert.strictEqual(link.tunnelSubnet, "10.4.0.0/31");
        assert.deepStrictEqual(
            link.ends.map((e) => [e.tunnelIp, e.tunnelPrefixLength]),
            [
                ["10.4.0.0", 31],
                ["10.4.0.1", 31],
            ],
        );
    });

    it("gives the second link the next /30", () => {
        const p = plan(addLink(example(), "second", "10.10.1.201", "10.20.1.201"));
        assert.strictEqual(p.links[1].tunnelSubnet, "10.4.0.4/30");
        assert.deepStrictEqual(
            p.links[1].ends.map((e) => e.tunnelIp),
            ["10.4.0.5", "10.4.0.6"],
        );
    });

    it("uses a link's port instead of tunnel.port", () => {
        const raw = addLink(example(), "second", "10.10.1.201", "10.20.1.201");
        raw.links[1].port = 5001;
        const p = plan(raw);
        assert.deepStrictEqual(
            p.links.map((l) => l.ends.map((e) => e.port)),
            [
                [5000, 5000],
                [5001, 5001],
            ],
        );
    });
});

describe("parseTopology", () => {
    it("accepts the shipped example", () => {
        const topology = parseTopology(example());
        assert.deepStrictEqual(Object.keys(topology.sites), ["ohio", "mumbai"]);
        assert.strictEqual(topology.links[0].name, "ohio-mumbai");
    });

    it("rejects an unknown key", () => {
        const raw = example();
        raw.sites.ohio.bridgerange = "10.10.0.0/16";
        expectProblem(() => parseTopology(raw), `${T}.sites.ohio.bridgerange`, { value: "10.10.0.0/16", message: /^unknown key$/ });
    });

    it("rejects a value of the wrong type", () => {
        const raw = example();
        raw.tunnel.mtu = "1452";
        expectProblem(() => parseTopology(raw), `${T}.tunnel.mtu`, {
            value: "1452",
            message: /expected a number, found text/,
            fix: /write it without quotes: 1452/,
        });
        raw.tunnel.mtu = [1452];
        expectProblem(() => parseTopology(raw), `${T}.tunnel.mtu`, {
            value: [1452],
            message: /expected a number, found a list/,
            fix: /write it as a number/,
        });
    });

    it("rejects a missing required field", () => {
        const raw = example();
        delete raw.tunnel.port;
        expectProblem(() => parseTopology(raw), `${T}.tunnel.port`, { value: undefined, fix: /\badd it\b/ });
    });

    it("rejects a value outside an enum and lists the allowed ones", () => {
        const raw = example();
        raw.sites.ohio.platform = "eks";
        expectProblem(() => parseTopology(raw), `${T}.sites.ohio.platform`, { value: "eks", fix: /"openshift".*"kubernetes"/ });
    });

    it("rejects a tunnel prefixLength other than 30 or 31", () => {
        const raw = example();
        raw.tunnel.prefixLength = 29;
        expectProblem(() => parseTopology(raw), `${T}.tunnel.prefixLength`, { value: 29 });
    });

    it("rejects a site name with upper case", () => {
        const raw = example();
        raw.sites.Ohio = raw.sites.ohio;
        delete raw.sites.ohio;
        expectProblem(() => parseTopology(raw), `${T}.sites.Ohio`, { value: "Ohio", message: /lower-case/ });
    });

    it("treats names of built-in object properties as unknown sites", () => {
        const raw = example();
        raw.links[0].ends[1].site = "constructor";
        expectProblem(() => plan(raw), `${T}.links[0].ends[1].site`, { value: "constructor", message: /no such site/ });
        const shipped = plan(example());
        expectProblem(() => managedSites(shipped, ["constructor"], "x"), "plumr:sites");
        expectProblem(() => managedSites(shipped, undefined, "toString"), "plumr:sites");
    });

    it("rejects a link name with upper case", () => {
        const raw = example();
        raw.links[0].name = "Ohio-Mumbai";
        expectProblem(() => parseTopology(raw), `${T}.links[0].name`, { value: "Ohio-Mumbai", message: /lower-case/ });
    });

    it("fills in the defaults", () => {
        const raw = example();
        delete raw.sites.ohio.namespace;
        delete raw.sites.ohio.attachment;
        delete raw.tunnel.prefixLength;
        const topology = parseTopology(raw);
        assert.strictEqual(topology.sites.ohio.namespace, "plumr");
        assert.strictEqual(topology.sites.ohio.attachment, "bridge");
        assert.strictEqual(topology.sites.ohio.sidecar, "native");
        assert.strictEqual(topology.sites.ohio.bridgeName, "br-plumr");
        assert.deepStrictEqual(topology.sites.ohio.workload.command, ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]);
        assert.strictEqual(topology.sites.ohio.workload.terminationGracePeriodSeconds, 10);
        assert.strictEqual(topology.tunnel.prefixLength, 30);
        assert.strictEqual(topology.tunnel.protocolOverhead, 20);
        assert.strictEqual(topology.tunnel.metricsName, "plumr_metrics");
    });

    it("reports several problems together", () => {
        const raw = example();
        raw.sites.ohio.platform = "eks";
        delete raw.tunnel.port;
        const { problems, message } = problemsOf(() => parseTopology(raw));
        assert.ok(problems.length >= 2, JSON.stringify(problems, null, 2));
        assert.ok(message.includes(`${T}.sites.ohio.platform`), message);
        assert.ok(message.includes(`${T}.tunnel.port`), message);
    });
});

describe("managedSites", () => {
    const p = plan(example());

    it("defaults to the stack's name", () => {
        assert.deepStrictEqual(managedSites(p, undefined, "ohio"), ["ohio"]);
    });

    it("takes an explicit list", () => {
        assert.deepStrictEqual(managedSites(p, ["ohio", "mumbai"], "dev"), ["ohio", "mumbai"]);
    });

    it("rejects an unknown site in the list", () => {
        const problem = expectProblem(() => managedSites(p, ["ohio", "texas"], "ohio"), "plumr:sites", { value: ["ohio", "texas"] });
        assert.match(problem.message, /texas/);
    });

    it("rejects a stack whose name is not a site when plumr:sites is not set", () => {
        const problem = expectProblem(() => managedSites(p, undefined, "dev"), "plumr:sites", { value: undefined });
        assert.match(problem.message, /\bdev\b/);
    });

    it("rejects an empty list", () => {
        expectProblem(() => managedSites(p, [], "ohio"), "plumr:sites", { message: /no site/ });
    });
});

describe("attachmentConfig and networksAnnotation", () => {
    const p = plan(example());
    const ohioEnd = p.endpoints.find((e) => e.site === "ohio")!;

    it("configures the bridge plugin with static IPAM and routes through the gateway", () => {
        const text = attachmentConfig(p.sites.ohio, ohioEnd, 1500);
        const config = JSON.parse(text);
        assert.strictEqual(config.name, "plumr-ohio-mumbai");
        assert.strictEqual(config.type, "bridge");
        assert.strictEqual(config.bridge, "br-plumr");
        assert.strictEqual(config.isGateway, false, "the node agent gives the bridge its address");
        assert.strictEqual(config.mtu, 1500);
        assert.deepStrictEqual(config.capabilities, { ips: true });
        assert.ok(!text.includes("capabilites"), text);
        assert.strictEqual(config.ipam.type, "static");
        assert.deepStrictEqual(config.ipam.routes, [
            { dst: "10.10.2.0/24", gw: "10.10.1.1" },
            { dst: "10.20.0.0/16", gw: "10.10.1.1" },
        ]);
    });

    it("configures the macvlan plugin on a macvlan site", () => {
        const raw = example();
        raw.sites.ohio.attachment = "macvlan";
        raw.sites.ohio.macvlanMaster = "ens5";
        delete raw.sites.ohio.aws;
        const q = plan(raw);
        const config = JSON.parse(attachmentConfig(q.sites.ohio, q.endpoints[0], 1500));
        assert.strictEqual(config.type, "macvlan");
        assert.strictEqual(config.master, "ens5");
        assert.strictEqual(config.mode, "bridge");
        assert.strictEqual(config.bridge, undefined);
        assert.deepStrictEqual(config.capabilities, { ips: true });
        assert.strictEqual(config.ipam.type, "static");
    });

    it("is deterministic, with sorted keys", () => {
        const first = attachmentConfig(p.sites.ohio, ohioEnd, 1500);
        const again = attachmentConfig(plan(example()).sites.ohio, plan(example()).endpoints[0], 1500);
        assert.strictEqual(again, first);
        assert.strictEqual(first, JSON.stringify(sortKeys(JSON.parse(first))));
        const annotation = networksAnnotation(ohioEnd, "plumr");
        assert.strictEqual(annotation, JSON.stringify(sortKeys(JSON.parse(annotation))));
    });

    it("asks Multus for net1 with the end's address", () => {
        assert.deepStrictEqual(JSON.parse(networksAnnotation(ohioEnd, "plumr")), [
            { name: "plumr-ohio-mumbai", namespace: "plumr", interface: "net1", ips: ["10.10.1.200/24"] },
        ]);
    });
});

describe("template", () => {
    const values: TemplateValues = {
        LINK: "ohio-mumbai",
        LOCAL_IP: "10.10.1.200",
        REMOTE_IP: "10.20.1.200",
        LOCAL_PORT: 5000,
        REMOTE_PORT: 5001,
        TUN_NAME: "tun",
        TUN_IP: "10.4.0.1",
        TUN_PREFIX: 30,
        REMOTE_TUN_IP: "10.4.0.2",
        MTU: 1452,
    };

    it("renders the shipped template with every placeholder filled", () => {
        const text = renderTemplate(TEMPLATE, values);
        assert.doesNotMatch(text, /\{\{|\}\}/, "no placeholder is left");
        const config = JSON.parse(text);
        assert.strictEqual(config.link, "ohio-mumbai");
        assert.deepStrictEqual(config.tun, { name: "tun", address: "10.4.0.1", prefix_length: 30, mtu: 1452 });
        assert.deepStrictEqual(config.udp, {
            local_address: "10.10.1.200",
            local_port: 5000,
            remote_address: "10.20.1.200",
            remote_port: 5001,
        });
    });

    it("renders every known placeholder, with or without spaces", () => {
        const template = Object.keys(PLACEHOLDERS)
            .map((name, i) => (i % 2 === 0 ? `{{${name}}}` : `{{ ${name} }}`))
            .join("|");
        const expected = Object.keys(PLACEHOLDERS)
            .map((name) => String(values[name as keyof TemplateValues]))
            .join("|");
        assert.strictEqual(renderTemplate(template, values), expected);
    });

    it("reports misspelt and built-in-property placeholders rather than leaving or filling them", () => {
        assert.deepStrictEqual(
            unknownPlaceholders("{{LOCAL-IP}} {{toString}} {{constructor}}").map((u) => u.name),
            ["LOCAL-IP", "toString", "constructor"],
        );
        assert.throws(() => renderTemplate("{{toString}}", values), /unknown placeholder/);
    });

    it("finds an unknown placeholder with its line", () => {
        assert.deepStrictEqual(unknownPlaceholders('{\n  "a": "{{LINK}}",\n  "b": "{{FOO}}"\n}'), [{ name: "FOO", line: 3 }]);
        assert.deepStrictEqual(unknownPlaceholders("{{ BAR }}"), [{ name: "BAR", line: 1 }]);
    });

    it("accepts the known placeholders, including with spaces", () => {
        assert.deepStrictEqual(unknownPlaceholders(TEMPLATE), []);
        assert.deepStrictEqual(unknownPlaceholders("{{ LOCAL_IP }} {{REMOTE_TUN_IP}}\n{{  MTU}}"), []);
    });
});

describe("addresses", () => {
    const cidr = (text: string): a.Cidr => {
        const result = a.parseCidr(text);
        if ("error" in result) return assert.fail(`${text}: ${result.error}`);
        return result.cidr;
    };

    it("parseIp accepts only four-part decimal addresses", () => {
        assert.strictEqual(a.parseIp("10.10.1.200"), (10 * 2 ** 24 + 10 * 2 ** 16 + 1 * 2 ** 8 + 200) >>> 0);
        assert.strictEqual(a.parseIp("255.255.255.255"), 2 ** 32 - 1);
        for (const bad of ["10.1", "10.10.1.256", "10.10.1.1/24", "", 42, undefined]) {
            assert.strictEqual(a.parseIp(bad), undefined, String(bad));
        }
    });

    it("parseCidr parses networks and rejects addresses and garbage", () => {
        assert.deepStrictEqual(cidr("10.10.0.0/16"), { network: a.parseIp("10.10.0.0"), prefixLength: 16, size: 65536 });
        assert.deepStrictEqual(a.parseCidr("10.10.1.5/24"), {
            error: "host bits are set, so it is an address, not a network",
            fix: "did you mean 10.10.1.0/24?",
        });
        for (const bad of ["10.10.0.0", "10.10.0.0/33", "10.10/16", null]) {
            assert.ok("error" in a.parseCidr(bad), String(bad));
        }
    });

    it("formats addresses and networks", () => {
        assert.strictEqual(a.formatIp(a.parseIp("10.20.3.4")!), "10.20.3.4");
        assert.strictEqual(a.formatIp(2 ** 32 - 1), "255.255.255.255");
        assert.strictEqual(a.formatCidr(cidr("10.4.0.4/30")), "10.4.0.4/30");
    });

    it("contains, containsCidr and overlaps", () => {
        const site = cidr("10.10.0.0/16");
        assert.ok(a.contains(site, a.parseIp("10.10.255.255")!));
        assert.ok(!a.contains(site, a.parseIp("10.11.0.0")!));
        assert.ok(a.containsCidr(site, cidr("10.10.1.0/24")));
        assert.ok(a.containsCidr(site, site));
        assert.ok(!a.containsCidr(cidr("10.10.1.0/24"), site));
        assert.ok(!a.containsCidr(site, cidr("10.30.0.0/24")));
        assert.ok(a.overlaps(site, cidr("10.0.0.0/8")));
        assert.ok(a.overlaps(cidr("10.0.0.0/8"), site));
        assert.ok(!a.overlaps(site, cidr("10.20.0.0/16")));
    });

    it("broadcast and gateway", () => {
        const range = cidr("10.10.1.0/24");
        assert.strictEqual(a.formatIp(a.broadcast(range)), "10.10.1.255");
        assert.strictEqual(a.formatIp(a.gateway(range)), "10.10.1.1");
    });

    it("nthSubnet and subnetCount", () => {
        const pool = cidr("10.4.0.0/24");
        assert.strictEqual(a.subnetCount(pool, 30), 64);
        assert.strictEqual(a.subnetCount(pool, 31), 128);
        assert.strictEqual(a.subnetCount(cidr("10.4.0.0/30"), 29), 0);
        assert.strictEqual(a.formatCidr(a.nthSubnet(pool, 30, 0)!), "10.4.0.0/30");
        assert.strictEqual(a.formatCidr(a.nthSubnet(pool, 30, 1)!), "10.4.0.4/30");
        assert.strictEqual(a.formatCidr(a.nthSubnet(pool, 30, 63)!), "10.4.0.252/30");
        assert.strictEqual(a.nthSubnet(pool, 30, 64), undefined);
        assert.strictEqual(a.nthSubnet(cidr("10.4.0.0/30"), 29, 0), undefined);
    });
});
