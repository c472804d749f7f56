// The binaries' gzip, remembered between runs. At the level they ship with, gzip takes about a
// second for a 20 MiB binary, and every preview and up packages the binaries again. An entry is
// named by all that decides its bytes (the content's sha256, the level, zlib's version), so it can
// never be stale, and it is checked against the content when read: a damaged one is made again.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { GZIP_LEVEL, gzipShipped } from "../planner/files/binaries";

/** How many entries the cache keeps: the most recently used. */
const KEEP = 8;

const sha256 = (content: Buffer) => createHash("sha256").update(content).digest("hex");

/** The cache entry of `content` in `dir`. */
export function cacheEntry(dir: string, content: Buffer): string {
    return path.join(dir, `${sha256(content)}-${GZIP_LEVEL}-zlib${process.versions.zlib}.gz`);
}

/**
 * gzipShipped, remembered in `dir` (created when needed). An entry that does not gunzip to the
 * content is made again; a cache that cannot be read or written only costs the time.
 */
export function cachedGzip(dir: string): (content: Buffer) => Buffer {
    return (content) => {
        const entry = cacheEntry(dir, content);
        try {
            const gz = fs.readFileSync(entry);
            if (gunzipSync(gz).equals(content)) {
                const now = new Date();
                fs.utimesSync(entry, now, now);
                return gz;
            }
        } catch {
            // not cached yet, or unreadable: made again below
        }
        const gz = gzipShipped(content);
        try {
            fs.mkdirSync(dir, { recursive: true });
            const partial = `${entry}.${process.pid}.partial`;
            fs.writeFileSync(partial, gz);
            fs.renameSync(partial, entry);
            prune(dir);
        } catch {
            // a cache that cannot be written only costs the time
        }
        return gz;
    };
}

/** Removes all but the KEEP most recently used entries. */
function prune(dir: string): void {
    const entries = fs
        .readdirSync(dir)
        .filter((name) => name.endsWith(".gz"))
        .map((name) => ({ file: path.join(dir, name), used: fs.statSync(path.join(dir, name)).mtimeMs }))
        .sort((a, b) => b.used - a.used);
    for (const { file } of entries.slice(KEEP)) fs.rmSync(file, { force: true });
}
