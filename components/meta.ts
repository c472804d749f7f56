import * as fs from "fs";
import * as path from "path";

/** Prefix of the labels and annotations the program sets. */
export const PREFIX = "plumr";

/** The labels every object carries, so `kubectl get -l app.kubernetes.io/part-of=plumr` finds them. */
export function labels(component: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        "app.kubernetes.io/part-of": "plumr",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "pulumi",
        ...extra,
    };
}

/** A script shipped with the program (components/scripts), as the cluster will run it. */
export function script(name: string): string {
    return fs.readFileSync(path.join(__dirname, "scripts", name), "utf8");
}
