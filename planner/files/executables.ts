import type { Finding } from "../problems/errors";
import { ARCHITECTURES } from "../topology/schema";

/** The nodes' machine, as Kubernetes names it (`kubernetes.io/arch`). */
export type Architecture = (typeof ARCHITECTURES)[number];

/** ELF e_machine values and the machines they mean, for the messages (from the System V ABI's list). */
export const ELF_MACHINES: Readonly<Record<number, string>> = {
    2: "SPARC",
    3: "x86 (i386, 32-bit)",
    8: "MIPS",
    20: "PowerPC (32-bit)",
    21: "PowerPC 64-bit (ppc64)",
    22: "IBM Z (s390x)",
    40: "ARM (32-bit)",
    43: "SPARC V9 (64-bit)",
    50: "Itanium (IA-64)",
    62: "x86-64 (amd64)",
    183: "AArch64 (arm64)",
    243: "RISC-V",
    247: "BPF",
    258: "LoongArch",
};

/** The e_machine each node architecture runs. */
export const ARCHITECTURE_MACHINES: Readonly<Record<Architecture, number>> = { amd64: 62, arm64: 183 };

/** A machine's name for the messages, also for a value the table does not know. */
export function machineName(machine: number): string {
    return ELF_MACHINES[machine] ?? `an unknown machine (ELF e_machine ${machine})`;
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const LFS_POINTER = "version https://git-lfs.github.com/spec/v1";
/** Bytes of an ELF64 file header: a shorter ELF file cannot be a program. */
const ELF64_HEADER = 64;
const ELF32_HEADER = 52;
const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;

/** Files people mistake for the binary, by their first bytes: what they are and what to do instead. */
const SIGNATURES: { magic: number[]; what: string; fix: string }[] = [
    { magic: [0x1f, 0x8b], what: "a gzip archive", fix: "unpack it (tar xzf or gunzip) and copy the binary inside it" },
    { magic: [0x50, 0x4b, 0x03, 0x04], what: "a zip archive", fix: "unpack it (unzip) and copy the binary inside it" },
    {
        magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
        what: "an xz archive",
        fix: "unpack it (tar xJf or unxz) and copy the binary inside it",
    },
    { magic: [0x28, 0xb5, 0x2f, 0xfd], what: "a zstd archive", fix: "unpack it (unzstd) and copy the binary inside it" },
    { magic: [0x4d, 0x5a], what: "a Windows executable", fix: "get the Linux build" },
    { magic: [0xcf, 0xfa, 0xed, 0xfe], what: "a macOS (Mach-O) executable", fix: "get the Linux build" },
    { magic: [0xca, 0xfe, 0xba, 0xbe], what: "a macOS (Mach-O) universal executable", fix: "get the Linux build" },
];

function startsWith(content: Buffer, prefix: Buffer | number[]): boolean {
    const bytes = Buffer.isBuffer(prefix) ? prefix : Buffer.from(prefix);
    return content.length >= bytes.length && content.subarray(0, bytes.length).equals(bytes);
}

/** Whether the file's beginning reads as text: no NUL byte, and next to no control characters. */
function looksLikeText(head: Buffer): boolean {
    let control = 0;
    for (const byte of head) {
        if (byte === 0) return false;
        if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c && byte !== 0x1b) control++;
    }
    return control <= head.length / 100;
}

/** The first line of a text, shortened, quoted for a message. */
function firstLine(text: string): string {
    const line = text
        .replace(/^\uFEFF/, "")
        .trimStart()
        .split(/\r?\n/)[0];
    return JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line);
}

function hex(bytes: Buffer): string {
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function inspectElf(content: Buffer, architecture: Architecture, name: string): Finding | undefined {
    const wanted = ARCHITECTURE_MACHINES[architecture];
    const nodes = `the nodes are ${architecture} (binaries.architecture), so they run ${machineName(wanted)} programs`;
    const rightBuild = `get the Linux ${architecture} build of ${name} from Steinwurf`;
    const elfClass = content[4];
    const data = content[5];
    if (elfClass !== 1 && elfClass !== 2) {
        return {
            message: `is a damaged ELF file: its class byte is ${elfClass ?? "missing"} (neither 32- nor 64-bit)`,
            fix: `copy ${name} again`,
        };
    }
    if (data !== 1 && data !== 2) {
        return { message: `is a damaged ELF file: its byte-order byte is ${data ?? "missing"}`, fix: `copy ${name} again` };
    }
    if (content.length < (elfClass === 2 ? ELF64_HEADER : ELF32_HEADER)) {
        return {
            message: `is cut short: an ELF file of ${content.length} bytes, shorter than an ELF header`,
            fix: `copy ${name} again (an interrupted download or copy leaves a truncated file)`,
        };
    }
    const u16 = (offset: number) => (data === 1 ? content.readUInt16LE(offset) : content.readUInt16BE(offset));
    const type = u16(16);
    const machine = u16(18);
    const built = `built for ${machineName(machine)}`;
    if (elfClass === 1) {
        return {
            message: `is a 32-bit ELF ${built}; ${nodes}, and they need a 64-bit build`,
            fix: `${rightBuild} (64-bit)`,
        };
    }
    if (machine !== wanted) {
        const other = (Object.keys(ARCHITECTURE_MACHINES) as Architecture[]).find((a) => ARCHITECTURE_MACHINES[a] === machine);
        return {
            message: `is an ELF program ${built}, but ${nodes}`,
            fix: other
                ? `${rightBuild}, or, if the nodes are ${other}, set binaries.architecture to ${other}`
                : `${rightBuild}, or set binaries.architecture to the nodes' architecture (one of ${ARCHITECTURES.join(", ")})`,
        };
    }
    if (data !== 1) {
        return { message: `is a big-endian ELF ${built}; ${architecture} Linux nodes run little-endian programs`, fix: rightBuild };
    }
    if (type !== ET_EXEC && type !== ET_DYN) {
        const what =
            type === ET_REL
                ? "an object file (.o), not a linked program"
                : type === ET_CORE
                  ? "a core dump, not a program"
                  : `an ELF file of type ${type}, not a program`;
        return {
            message: `is ${what} (ELF type ${type}; a program is type 2, executable, or 3, shared object)`,
            fix: `copy the ${name} program itself`,
        };
    }
    return undefined;
}

/**
 * Whether `content` runs on the nodes: an ELF 64-bit executable (or shared object, as position
 * independent executables are) for `architecture`'s machine, or a script (`#!`). Undefined when it
 * does; otherwise what the file is and how to fix it. `name` (the binary's name) and `file` (its
 * path) are for the fix.
 */
export function inspectExecutable(content: Buffer, architecture: Architecture, name = "the binary", file = name): Finding | undefined {
    if (content.length === 0) return { message: "is empty", fix: `copy the real ${name} binary there` };
    if (startsWith(content, Buffer.from("#!"))) return undefined;
    if (startsWith(content, ELF_MAGIC)) return inspectElf(content, architecture, name);
    const head = content.subarray(0, 1024);
    const text = head.toString("utf8");
    if (text.startsWith(LFS_POINTER)) {
        const size = /^size (\d+)$/m.exec(text)?.[1];
        return {
            message: `is a Git LFS pointer${size ? ` to a file of ${size} bytes` : ""}, not the binary itself (the repository was cloned without Git LFS)`,
            fix: `run git lfs install && git lfs pull in the Git repository that holds ${file}, then check that the first bytes of ${file} are 7f 45 4c 46 (ELF): head -c 4 ${file} | od -An -tx1`,
        };
    }
    for (const signature of SIGNATURES) {
        if (startsWith(content, signature.magic)) {
            return {
                message: `is ${signature.what}, not a Linux executable`,
                fix: `${signature.fix}: ${name} must be a Linux ELF executable`,
            };
        }
    }
    if (looksLikeText(head)) {
        if (/^\s*(<!doctype html|<html|<head|<body|<\?xml)/i.test(text)) {
            return {
                message: `is a web page (${firstLine(text)}), not the binary: a failed download saves the server's error or login page`,
                fix: `download ${name} again from Steinwurf (logged in, following redirects, e.g. curl -fL), and check that file ${file} says ELF`,
            };
        }
        return {
            message: `is a text file starting ${firstLine(text)}, neither an ELF executable nor a script (a script starts with #!)`,
            fix: `replace it with the ${name} binary you received from Steinwurf`,
        };
    }
    return {
        message: `is neither an ELF executable nor a script: it starts with the bytes ${hex(content.subarray(0, 4))}, not 7f 45 4c 46 (ELF) or #!`,
        fix: `replace it with the ${name} binary you received from Steinwurf`,
    };
}
