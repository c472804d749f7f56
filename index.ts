// The program's entry point: everything lives in program.ts so that tests can run it under mocks.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./planner/errors";
import { deploy, prepare } from "./program";

/**
 * The stack's outputs. `sites`: per managed site, its namespace, ranges, nodes, installer, AWS
 * side and the facts of its link ends. `links`: per link, the tunnel subnet, MTU and both ends.
 */
export = async () => {
    try {
        const deployment = await deploy(prepare());
        return { sites: deployment.sites, links: deployment.links };
    } catch (err) {
        // A configuration problem is the user's to fix: show the problems, not a stack trace.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
};
