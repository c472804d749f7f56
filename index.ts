// The program's entry point: everything lives in program.ts so that tests can run it under mocks.
import { deploy } from "./program";

/**
 * The stack's outputs. `sites`: per managed site, its namespace, ranges, nodes, installer, AWS
 * side and the facts of its link ends. `links`: per link, the tunnel subnet, MTU and both ends.
 */
export = async () => {
    const deployment = await deploy();
    return { sites: deployment.sites, links: deployment.links };
};
