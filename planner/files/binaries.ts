import { createHash } from "crypto";
import { gzipSync } from "zlib";

/** The binaries Steinwurf ships, which the installer puts on every node. */
export const BINARY_NAMES = ["plumr", "shm_printer"] as const;
export type BinaryName = (typeof BINARY_NAMES)[number];

/** The CNI plugins each attachment needs on a node: its main plugin and the static IPAM plugin. */
export const CNI_PLUGINS_OF = { bridge: ["bridge", "static"], macvlan: ["macvlan", "static"] } as const;
export type CniPluginName = (typeof CNI_PLUGINS_OF)[keyof typeof CNI_PLUGINS_OF][number];
export const CNI_PLUGIN_NAMES: readonly CniPluginName[] = ["bridge", "macvlan", "static"];

/**
 * Gzip'd bytes per ConfigMap. A ConfigMap holds at most 1 MiB and binaryData is base64 (4/3 larger),
 * so 512 KiB of payload leaves room for the object's metadata.
 */
export const CHUNK_BYTES = 512 * 1024;

/** A binary ready to ship: its checksum and its gzip'd bytes cut into ConfigMap-sized chunks. */
export interface BinaryPackage {
    name: BinaryName | CniPluginName;
    /** sha256 of the binary itself, as the installer verifies it on the node. */
    sha256: string;
    /** Size of the binary in bytes. */
    size: number;
    /** The gzip stream, in order; concatenated they gunzip to the binary. */
    chunks: Buffer[];
}

/** The gzip level the binaries ship with. */
export const GZIP_LEVEL = 9;

/** The binaries' gzip as they ship: deterministic for the same content (Node writes no timestamp). */
export function gzipShipped(content: Buffer): Buffer {
    return gzipSync(content, { level: GZIP_LEVEL });
}

export function sha256(content: Buffer | string): string {
    return createHash("sha256").update(content).digest("hex");
}

/**
 * A binary's package. `compress` is the shipped gzip (gzipShipped), or the same from a cache: the
 * same binary always gives the same chunks, so no spurious diff.
 */
export function packageBinary(
    name: BinaryPackage["name"],
    content: Buffer,
    chunkBytes = CHUNK_BYTES,
    compress: (content: Buffer) => Buffer = gzipShipped,
): BinaryPackage {
    const gz = compress(content);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < gz.length; offset += chunkBytes) {
        chunks.push(gz.subarray(offset, offset + chunkBytes));
    }
    return { name, sha256: sha256(content), size: content.length, chunks };
}

/** One checksum over every binary: it changes when any binary changes, and rolls the installer. */
export function combinedSha256(packages: BinaryPackage[]): string {
    return sha256(packages.map((p) => `${p.sha256}  ${p.name}\n`).join(""));
}

/** The chunk file name inside the installer's chunk directory: `plumr.gz.000`, `plumr.gz.001`... */
export function chunkFileName(name: BinaryPackage["name"], index: number): string {
    return `${name}.gz.${String(index).padStart(3, "0")}`;
}

/** `sha256sum -c` lines for the packages, one per binary. */
export function sha256sums(packages: BinaryPackage[]): string {
    return packages.map((p) => `${p.sha256}  ${p.name}\n`).join("");
}

/**
 * The installer's manifest: `SHA256SUMS` in `sha256sum -c` format (what to verify) and `CHUNKS`
 * (how many chunks make each binary, so an incomplete set is caught before anything is written);
 * `CNI_SHA256SUMS` for the CNI plugins shipped, which go where the node lacks them.
 */
export function installerManifest(
    packages: BinaryPackage[],
    cniPackages: BinaryPackage[] = [],
): { SHA256SUMS: string; CHUNKS: string; CNI_SHA256SUMS?: string } {
    return {
        SHA256SUMS: sha256sums(packages),
        CHUNKS: [...packages, ...cniPackages].map((p) => `${p.name} ${p.chunks.length}\n`).join(""),
        ...(cniPackages.length > 0 && { CNI_SHA256SUMS: sha256sums(cniPackages) }),
    };
}
