// What the topology points at on the local disk, as the planner gets it: contents, and what is at
// each path. Reading them is the program's (program/localFiles.ts); the planner does no I/O.
import type { BinaryName, CniPluginName } from "./binaries";

/**
 * What is at a path: a file, a directory, nothing (`missing`), something else (a device, a
 * socket), or a file that cannot be read (`unreadable`).
 */
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
