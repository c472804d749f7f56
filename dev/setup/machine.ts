// What the demo needs of the machine it runs on, checked before anything is built: each need
// that is not met named with what was found and the fix. The local clusters' nodes are real
// (network namespaces, mounts, cgroups), the toolchain is built from Go modules, runc with cgo.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";

/** The Go the toolchain's modules need (dev/setup/toolchain.sh writes `go 1.26` in its wrappers, and builds with GOTOOLCHAIN=local). */
export const GO_NEEDED = "1.26";
/** Free space a cold run needs: Go's module and build caches (about 15 GiB) and the toolchain (1.5 GiB). */
export const DISK_NEEDED_GIB = 20;
/** Cores the local clusters need: two control planes, four kubelets and the tunnel's traffic at once. */
export const CORES_NEEDED = 2;

/** What the checks read of the machine. */
export interface Machine {
    platform: string;
    /** The effective user id. */
    uid: number;
    aptGet: boolean;
    /** `go version`'s version (e.g. 1.26.8), when Go is found at /usr/local/go or on PATH. */
    goVersion?: string;
    /** A C compiler on PATH (cc or gcc). */
    cCompiler: boolean;
    /** Free space under the directory the caches go to, GiB. */
    freeGiB: number;
    cores: number;
}

/** One need the machine does not meet. */
export interface Unmet {
    need: string;
    found: string;
    fix: string;
}

const found = (command: string, args: string[]): string | undefined => {
    try {
        return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return undefined;
    }
};

/** Reads the machine: `dir` is where the caches go (the repository). */
export function readMachine(dir: string): Machine {
    const go = found("/usr/local/go/bin/go", ["version"]) ?? found("go", ["version"]);
    const stat = fs.statfsSync(dir);
    return {
        platform: process.platform,
        uid: process.getuid?.() ?? -1,
        aptGet: found("sh", ["-c", "command -v apt-get"]) !== undefined,
        goVersion: /go(\d+\.\d+(?:\.\d+)?)/.exec(go ?? "")?.[1],
        cCompiler: found("sh", ["-c", "command -v cc || command -v gcc"]) !== undefined,
        freeGiB: (stat.bavail * stat.bsize) / 2 ** 30,
        cores: os.availableParallelism(),
    };
}

/** Whether version `have` (1.26.8) is at least `need` (1.26). */
function atLeast(have: string, need: string): boolean {
    const [a, b] = [have, need].map((v) => v.split(".").map(Number));
    for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
    return true;
}

/** The needs `machine` does not meet, each with what was found and the fix; empty when it meets them all. */
export function unmetNeeds(machine: Machine): Unmet[] {
    const unmet: Unmet[] = [];
    if (machine.platform !== "linux")
        unmet.push({
            need: "Linux",
            found: machine.platform,
            fix: "run the demo on a Linux machine or VM: its nodes are network namespaces, mounts and cgroups",
        });
    if (machine.uid !== 0)
        unmet.push({
            need: "root",
            found: `user id ${machine.uid}`,
            fix: "run it as root (sudo -E npm run demo): the nodes' network namespaces, bridges, mounts and cgroups, and the Debian packages, need root",
        });
    if (!machine.aptGet)
        unmet.push({
            need: "Debian's apt-get",
            found: "no apt-get on PATH",
            fix: "run it on Debian or Ubuntu: the nodes' tools (iptables, conntrack, iperf3, libseccomp) and images come from Debian packages",
        });
    if (!machine.goVersion || !atLeast(machine.goVersion, GO_NEEDED))
        unmet.push({
            need: `Go ${GO_NEEDED} or newer`,
            found: machine.goVersion ? `Go ${machine.goVersion}` : "no go at /usr/local/go/bin or on PATH",
            fix: `install Go ${GO_NEEDED} or newer at /usr/local/go (https://go.dev/doc/install): the toolchain is built from Go modules`,
        });
    if (!machine.cCompiler)
        unmet.push({
            need: "a C compiler",
            found: "no cc or gcc on PATH",
            fix: "apt-get install gcc: runc is built with cgo (seccomp), and the pod sandbox's process is C",
        });
    if (machine.freeGiB < DISK_NEEDED_GIB)
        unmet.push({
            need: `${DISK_NEEDED_GIB} GiB free`,
            found: `${machine.freeGiB.toFixed(1)} GiB free`,
            fix: "free space on this file system: Go's caches and the toolchain take about 17 GiB on a first run",
        });
    if (machine.cores < CORES_NEEDED)
        unmet.push({
            need: `${CORES_NEEDED} cores`,
            found: `${machine.cores}`,
            fix: `give the machine ${CORES_NEEDED} or more cores: two control planes and four kubelets run at once`,
        });
    return unmet;
}
