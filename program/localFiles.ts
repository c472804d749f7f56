// Reads what the topology points at on the local disk (the config template, the binaries, the
// CNI plugins, the allocations file) for the planner, which does no I/O itself.
import * as fs from "fs";
import * as path from "path";
import { BINARY_NAMES, BinaryName, CNI_PLUGIN_NAMES, CniPluginName } from "../planner/files/binaries";
import type { LocalFiles, PathKind } from "../planner/files/localFiles";
import type { Topology } from "../planner/topology/schema";
import { cachedGzip } from "./gzipCache";

/** Where the binaries' gzip is remembered between runs: the program's node_modules/.cache, where tools keep caches. */
const GZIP_CACHE = path.join(__dirname, "..", "node_modules", ".cache", "plumr", "gzip");

function kindOf(file: string): PathKind {
    try {
        const stat = fs.statSync(file);
        return stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "other";
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return code === "ENOENT" || code === "ENOTDIR" ? "missing" : "unreadable";
    }
}

/** The file's content when it is a readable file; what is there instead otherwise. */
function readFile(file: string): { kind: PathKind; content?: Buffer } {
    const kind = kindOf(file);
    if (kind !== "file") return { kind };
    try {
        return { kind, content: fs.readFileSync(file) };
    } catch {
        return { kind: "unreadable" };
    }
}

/** Reads the config template, the binaries and the allocations; paths are relative to `baseDir` (the project). */
export function readLocalFiles(topology: Topology, baseDir: string): LocalFiles {
    const templatePath = path.resolve(baseDir, topology.configTemplate);
    const binariesDir = path.resolve(baseDir, topology.binaries.dir);
    const binaries: Partial<Record<BinaryName, Buffer>> = {};
    const binaryKinds = {} as Record<BinaryName, PathKind>;
    for (const name of BINARY_NAMES) {
        const { kind, content } = readFile(path.join(binariesDir, name));
        binaryKinds[name] = kind;
        if (content) binaries[name] = content;
    }
    const cniPluginsDir = topology.binaries.cniPlugins === undefined ? undefined : path.resolve(baseDir, topology.binaries.cniPlugins);
    const cniPlugins: Partial<Record<CniPluginName, Buffer>> = {};
    const cniKinds = {} as Record<CniPluginName, PathKind>;
    if (cniPluginsDir) {
        for (const name of CNI_PLUGIN_NAMES) {
            const { kind, content } = readFile(path.join(cniPluginsDir, name));
            cniKinds[name] = kind;
            if (content) cniPlugins[name] = content;
        }
    }
    const allocationsPath = path.resolve(baseDir, topology.allocations);
    const template = readFile(templatePath);
    const allocations = readFile(allocationsPath);
    return {
        ...(cniPluginsDir && { cniPluginsDir, cniPlugins }),
        compress: cachedGzip(GZIP_CACHE),
        templatePath,
        template: template.content?.toString("utf8"),
        binariesDir,
        binaries,
        allocationsPath,
        allocations: allocations.content?.toString("utf8"),
        kinds: {
            template: template.kind,
            binariesDir: kindOf(binariesDir),
            binaries: binaryKinds,
            ...(cniPluginsDir && { cniPluginsDir: kindOf(cniPluginsDir), cniPlugins: cniKinds }),
            allocations: allocations.kind,
        },
    };
}
