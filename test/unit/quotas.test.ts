// The Amazon VPC quotas a site's routing counts against (planner/aws/quotas.ts): what it adds to
// each route table and security group, and the warning a run prints when that nears the default.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { quotaUses, quotaWarnings } from "../../planner/aws/quotas";
import type { AwsRoutedNode, AwsSitePlan } from "../../planner/types";
import { exampleTopology, runProgram } from "../support/harness";

/** A site with `nodes` routed nodes and one linked site over `links` links. */
function sitePlan(nodes: number, links = 1): AwsSitePlan {
    const node = (i: number): AwsRoutedNode => ({
        node: `node-${i}`,
        index: i,
        range: `10.10.${i + 1}.0/24`,
        instanceId: `i-${i}`,
        hostsEnd: i === 0,
        availabilityZone: "us-east-2a",
        networkInterfaceId: `eni-${i}`,
    });
    return {
        site: "ohio",
        region: "us-east-2",
        asn: 64512,
        bridgeRange: "10.10.0.0/16",
        vpcId: "vpc-1",
        attachmentSubnetIds: ["subnet-1"],
        nodeRouteTableIds: ["rtb-nodes", "rtb-attachment"],
        peerRouteTableIds: ["rtb-nodes"],
        securityGroupIds: ["sg-1"],
        routedNodes: Array.from({ length: nodes }, (_, i) => node(i)),
        peers: [
            {
                site: "mumbai",
                range: "10.20.0.0/16",
                links: Array.from({ length: links }, (_, i) => ({ link: `l${i}`, port: 5000 + i, peerAddress: "10.20.1.1" })),
                peering: "requester",
            },
        ],
    };
}

describe("AWS quotas", () => {
    it("counts a route per routed node in every node table, a route per linked site in the nodes' tables, a rule per link and linked site", () => {
        assert.deepStrictEqual(
            quotaUses(sitePlan(3, 2)).map(({ quota, id, added, from }) => [quota.name, id, added, from]),
            [
                ["Routes per route table", "rtb-nodes", 4, "3 routed nodes, 1 linked site"],
                ["Routes per route table", "rtb-attachment", 3, "3 routed nodes"],
                ["Inbound or outbound rules per security group", "sg-1", 3, "2 links, 1 linked site"],
            ],
        );
    });

    it("warns from 80% of the default on, naming the table, what adds the routes and the quota", () => {
        assert.deepStrictEqual(quotaWarnings(sitePlan(38)), []);
        const [nodes, ...others] = quotaWarnings(sitePlan(39));
        assert.deepStrictEqual(others, []);
        assert.match(
            nodes,
            /^site ohio adds 40 routes to route table rtb-nodes \(39 routed nodes, 1 linked site\), near the default of 50 /,
        );
        assert.match(nodes, /Amazon VPC quota "Routes per route table"/);
        assert.match(nodes, /Ask for an increase in Service Quotas/);
        const beyond = quotaWarnings(sitePlan(50));
        assert.deepStrictEqual(
            beyond.map((w) => w.slice(0, w.indexOf(", which"))),
            [
                `site ohio adds 51 routes to route table rtb-nodes (50 routed nodes, 1 linked site), beyond the default of 50 of the Amazon VPC quota "Routes per route table"`,
                `site ohio adds 50 routes to route table rtb-attachment (50 routed nodes), beyond the default of 50 of the Amazon VPC quota "Routes per route table"`,
            ],
        );
        assert.match(
            quotaWarnings(sitePlan(1, 47))[0],
            /^site ohio adds 48 inbound rules to security group sg-1 \(47 links, 1 linked site\), near the default of 60/,
        );
    });

    it("is said by every run whose site nears a default, and by none of the shipped topology's", async () => {
        const log = pulumi.log as { warn: (msg: string) => void };
        const { warn } = log;
        const warned: string[] = [];
        log.warn = (msg) => void warned.push(msg);
        try {
            await runProgram({ stack: "ohio" });
            assert.deepStrictEqual(
                warned.filter((w) => /quota/.test(w)),
                [],
            );
            const topology = exampleTopology();
            const ohio = topology.sites.ohio;
            for (let i = 3; i <= 40; i++) {
                ohio.nodes.push({
                    name: `ip-10-0-1-${i}.us-east-2.compute.internal`,
                    range: `10.10.${i}.0/24`,
                    instanceId: `i-0a1000000000000${(100 + i).toString(16)}`,
                    availabilityZone: "us-east-2a",
                });
            }
            await runProgram({ stack: "ohio", topology });
            assert.deepStrictEqual(
                warned.filter((w) => /quota/.test(w)).map((w) => w.slice(0, w.indexOf(" ("))),
                [
                    "site ohio adds 41 routes to route table rtb-0a10000000000000a",
                    "site ohio adds 40 routes to route table rtb-0a10000000000000b",
                ],
            );
        } finally {
            log.warn = warn;
        }
    });
});
