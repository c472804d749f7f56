// The program's version, as package.json gives it: every stack publishes it with its sites, so that
// a peer stack can say which of the two to upgrade.
import { version } from "../package.json";

/** The version of the program (package.json's `version`). */
export const PROGRAM_VERSION: string = version;
