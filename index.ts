// The program's entry point: the work lives in program/prepare.ts and program/deploy.ts, so that tests can run it
// under mocks.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./planner/problems/errors";
import { clusterProviders } from "./program/clusterProviders";
import { readClusters } from "./program/clusterReader";
import { prepare } from "./program/prepare";

/**
 * An error as the Node.js runner should get it. A configuration problem is the user's to fix: a
 * RunError, which the runner shows without a stack trace. Every error also loses the stack frames
 * that hang Node.js 20's util.inspect, which the runner calls on every failure: the SDK's source
 * maps place its frames at node_modules/@pulumi/<file>.ts, a path directly under a scope, on which
 * inspect loops until the string is too long (nodejs/node#64011), 15 to 30 s of CPU per failure.
 */
function forRunner(err: unknown): unknown {
    if (err instanceof ConfigError) {
        const failure = new pulumi.RunError(err.message);
        failure.stack = failure.message;
        return failure;
    }
    if (err instanceof Error && err.stack) {
        err.stack = err.stack
            .split("\n")
            .filter((line) => !/node_modules\/@[^/]+\/[^/]+:\d+/.test(line))
            .join("\n");
    }
    return err;
}

/**
 * The configuration, read and checked while this module loads, before the providers' packages are:
 * a bad one fails at once, and before anything is deployed.
 */
const prepared = (() => {
    try {
        return prepare();
    } catch (err) {
        throw forRunner(err);
    }
})();

/**
 * Each site's cluster, read at once while the providers' packages load; the program checks it
 * against the plan before any change.
 */
const clusters = readClusters(prepared);

/** The clusters' providers, registered at once, so that the engine starts them while the rest loads. */
const providers = clusterProviders(prepared);

/**
 * The stack's outputs. `sites`: per managed site, its namespace, ranges, nodes, node agent, AWS
 * side and the facts of its link ends. `links`: per link, the tunnel subnet, MTU, tun device and both ends.
 */
export = async () => {
    try {
        const { deploy } = await import("./program/deploy");
        const deployment = await deploy(prepared, await clusters, providers);
        return { sites: deployment.sites, links: deployment.links };
    } catch (err) {
        // The clusters' nodes are checked against the topology in deploy: a configuration problem too.
        throw forRunner(err);
    }
};
