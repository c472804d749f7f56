// cgroups of the local clusters: every process of a local instance (control planes, node daemons,
// pods) runs in a cgroup of that instance, in every hierarchy this machine mounts, so that
// stopping an instance can find and kill all of them and leave no process behind.
import * as fs from "fs";
import * as path from "path";
import { sleepSync } from "../../lib/processes";

export interface Hierarchy {
    mountPoint: string;
    type: "cgroup" | "cgroup2";
    /** Mount options naming the hierarchy (its controllers, or name=...). */
    options: string;
}

/** This machine's cgroup hierarchies, as mounted here. */
export function hierarchies(): Hierarchy[] {
    return fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .map((line) => line.split(" - "))
        .filter(([, fsPart]) => /^cgroup2? /.test(fsPart ?? ""))
        .map(([mountPart, fsPart]) => {
            const [type, , superOptions] = fsPart.split(" ");
            const options = superOptions
                .split(",")
                .filter((o) => o !== "rw" && o !== "ro")
                .join(",");
            return { mountPoint: mountPart.split(" ")[4], type: type as Hierarchy["type"], options };
        });
}

/** Creates `relative` (and its parents) in every hierarchy. */
export function ensureCgroup(relative: string): void {
    for (const h of hierarchies()) {
        let current = h.mountPoint;
        for (const part of relative.split("/")) {
            const parent = current;
            current = path.join(current, part);
            fs.mkdirSync(current, { recursive: true });
            // A v1 cpuset cgroup takes no process until it has CPUs and memory nodes.
            if (h.options === "cpuset") {
                for (const file of ["cpuset.cpus", "cpuset.mems"]) {
                    if (fs.readFileSync(path.join(current, file), "utf8").trim() === "")
                        fs.writeFileSync(path.join(current, file), fs.readFileSync(path.join(parent, file)));
                }
            }
        }
    }
}

/** A shell command that moves the shell itself into `relative` in every hierarchy; created here first. */
export function joinCgroupCommand(relative: string): string {
    ensureCgroup(relative);
    const procs = hierarchies().map((h) => path.join(h.mountPoint, relative, "cgroup.procs"));
    return `for p in ${procs.join(" ")}; do echo $$ > "$p"; done`;
}

/** Every cgroup directory under `relative` in one hierarchy, deepest first. */
function cgroupTree(mountPoint: string, relative: string): string[] {
    const top = path.join(mountPoint, relative);
    if (!fs.existsSync(top)) return [];
    const dirs: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(path.join(dir, entry.name));
        dirs.push(dir);
    };
    walk(top);
    return dirs;
}

/** The processes in a cgroup subtree, across every hierarchy. */
export function cgroupProcesses(relative: string): number[] {
    const pids = new Set<number>();
    for (const h of hierarchies())
        for (const dir of cgroupTree(h.mountPoint, relative))
            for (const pid of fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) pids.add(Number(pid));
    return [...pids];
}

/** Whether `relative` exists in any hierarchy. */
export function cgroupExists(relative: string): boolean {
    return hierarchies().some((h) => fs.existsSync(path.join(h.mountPoint, relative)));
}

/**
 * Kills every process in a cgroup subtree and removes its cgroups. Synchronous, so that it also
 * runs from a signal handler; processes that fork while being killed are caught by the next pass.
 */
export function removeCgroupTree(relative: string): void {
    for (let pass = 0; pass < 100; pass++) {
        const pids = cgroupProcesses(relative);
        if (pids.length === 0) break;
        for (const pid of pids) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
        sleepSync(100);
    }
    for (let pass = 0; pass < 50; pass++) {
        let left = 0;
        for (const h of hierarchies()) {
            for (const dir of cgroupTree(h.mountPoint, relative)) {
                try {
                    fs.rmdirSync(dir);
                } catch {
                    left++; // a process that was just killed still holds it
                }
            }
        }
        if (left === 0) return;
        sleepSync(100);
    }
    throw new Error(`could not remove cgroup ${relative}: processes ${cgroupProcesses(relative).join(" ") || "none"} remain`);
}
