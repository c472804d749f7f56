import * as fs from "fs";
import * as path from "path";
import { BINARY_NAMES, BinaryName, CNI_PLUGIN_NAMES, CniPluginName } from "./binaries";
import { cachedGzip } from "../../program/gzipCache";
import { Topology } from "../topology/schema";

/**
 * What is at a path: a file, a directory, nothing (`missing`), something else (a device, a
 * socket), or a file that cannot be read (`unreadable`).
 */
/** Where the binaries' gzip is remembered between runs: the program's node_modules/.cache, where tools keep caches. */
const GZIP_CACHE = path.join(__dirname, "..", "node_modules", ".cache", "plumr", "gzip");

export type PathKind = "file" | "directory" | "missing" | "other" | "unreadable";

/** What the topology points at on the local disk; a missing file is left undefined. */
export interface LocalFiles {
    /** Absolute path of the config template, for messages. */
    templatePath: string;
    template?: string;
    /** Absolute path of the binaries directory, for messages. */
    binariesDir: string;
    binaries: Partial<Record<BinaryName, Buffer>>;
    /** Absolute path of binaries.cniPlugins, when the topology names one. */
    cniPluginsDir?: string;
    /** The CNI plugins found there. */
    cniPlugins?: Partial<Record<CniPluginName, Buffer>>;
    /** Absolute path of the allocations file, for messages. */
    allocationsPath: string;
    /** The allocations file's text; undefined when there is none yet. */
    allocations?: string;
    /** How the binaries are gzip'd for shipping: gzipShipped, from a cache when read from a disk (default: gzipShipped itself). */
    compress?: (content: Buffer) => Buffer;
    /**
     * What is at each path, so that a message can tell "no such file" from "a directory, not a
     * file". Unset when the files were not read from a disk (tests): then only the contents count.
     */
    kinds?: {
        template: PathKind;
        binariesDir: PathKind;
        binaries: Record<BinaryName, PathKind>;
        cniPluginsDir?: PathKind;
        cniPlugins?: Record<CniPluginName, PathKind>;
        allocations: PathKind;
    };
}

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

/**
 * What is wrong with what is at `absolute` for something that must be a `wanted` (file or
 * directory), in words for a message; undefined when it is one.
 */
export function pathKindProblem(kind: PathKind | undefined, absolute: string, wanted: "file" | "directory"): string | undefined {
    switch (kind) {
        case undefined:
        case wanted:
            return undefined;
        case "missing":
            return `no such ${wanted}: nothing is at ${absolute}`;
        case "unreadable":
            return `${absolute} cannot be read (check its permissions)`;
        case "other":
            return `${absolute} is neither a file nor a directory (a device, a socket or a pipe), not a ${wanted}`;
        default:
            return `${absolute} is a ${kind}, not a ${wanted}`;
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
