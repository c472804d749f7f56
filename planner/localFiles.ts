import * as fs from "fs";
import * as path from "path";
import { BINARY_NAMES, BinaryName } from "./binaries";
import { Topology } from "./topology";

/** What the topology points at on the local disk; a missing file is left undefined. */
export interface LocalFiles {
    /** Absolute path of the config template, for messages. */
    templatePath: string;
    template?: string;
    /** Absolute path of the binaries directory, for messages. */
    binariesDir: string;
    binaries: Partial<Record<BinaryName, Buffer>>;
    /** Absolute path of the allocations file, for messages. */
    allocationsPath: string;
    /** The allocations file's text; undefined when there is none yet. */
    allocations?: string;
}

function readIfFile(file: string): Buffer | undefined {
    try {
        return fs.statSync(file).isFile() ? fs.readFileSync(file) : undefined;
    } catch {
        return undefined;
    }
}

/** Reads the config template, the binaries and the allocations; paths are relative to `baseDir` (the project). */
export function readLocalFiles(topology: Topology, baseDir: string): LocalFiles {
    const templatePath = path.resolve(baseDir, topology.configTemplate);
    const binariesDir = path.resolve(baseDir, topology.binaries.dir);
    const binaries: Partial<Record<BinaryName, Buffer>> = {};
    for (const name of BINARY_NAMES) {
        const content = readIfFile(path.join(binariesDir, name));
        if (content) binaries[name] = content;
    }
    const allocationsPath = path.resolve(baseDir, topology.allocations);
    return {
        templatePath,
        template: readIfFile(templatePath)?.toString("utf8"),
        binariesDir,
        binaries,
        allocationsPath,
        allocations: readIfFile(allocationsPath)?.toString("utf8"),
    };
}
