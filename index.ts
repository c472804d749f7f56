// The program's entry point: everything lives in program.ts so that tests can run it under mocks.
import { deploy } from "./program";

const deployment = deploy();

/** Per managed site: namespace, ranges, nodes, installer and the facts of its link ends. */
export const sites = deployment.sites;
/** Per link: tunnel subnet, MTU and both ends, with the stack that deploys each. */
export const links = deployment.links;
