// Talking to a local cluster: a minimal API client with the admin certificate, and the
// toolchain's kubectl (for exec and logs, which stream through the kubelet).
import { execFile } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { BIN, ClusterSpec, dirOf, kubeconfigPath } from "./clusterSpecs";

/** A minimal client for a local cluster's API, authenticated with its admin certificate. */
export class KubeApi {
    private readonly agent: https.Agent;
    constructor(private readonly cluster: ClusterSpec) {
        const dir = dirOf(cluster);
        this.agent = new https.Agent({
            ca: fs.readFileSync(path.join(dir, "ca.crt")),
            cert: fs.readFileSync(path.join(dir, "admin.crt")),
            key: fs.readFileSync(path.join(dir, "admin.key")),
        });
    }

    request(method: string, urlPath: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: any }> {
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: "127.0.0.1",
                    port: this.cluster.ports.api,
                    path: urlPath,
                    method,
                    agent: this.agent,
                    headers: { "content-type": contentType },
                    timeout: 10_000,
                },
                (res) => {
                    let data = "";
                    res.on("data", (chunk) => (data += chunk));
                    res.on("end", () => {
                        let parsed: unknown = data;
                        try {
                            parsed = JSON.parse(data);
                        } catch {
                            // plain-text answers such as /readyz
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed });
                    });
                },
            );
            req.on("error", reject);
            req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
            if (body !== undefined) req.write(JSON.stringify(body));
            req.end();
        });
    }

    async get(urlPath: string): Promise<any> {
        const res = await this.request("GET", urlPath);
        if (res.status !== 200) throw new Error(`GET ${urlPath} on ${this.cluster.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        return res.body;
    }

    /** Changes an object as a JSON Merge Patch (RFC 7386): maps merge key by key, null removes a key. */
    async patch(urlPath: string, patch: unknown): Promise<void> {
        const res = await this.request("PATCH", urlPath, patch, "application/merge-patch+json");
        if (res.status !== 200) throw new Error(`PATCH ${urlPath} on ${this.cluster.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }

    /** Creates an object unless it exists already. */
    async ensure(collection: string, object: unknown): Promise<void> {
        const res = await this.request("POST", collection, object);
        if (res.status !== 201 && res.status !== 409)
            throw new Error(`POST ${collection} on ${this.cluster.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }
}

/** What a command printed, and how it ended. */
export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs the toolchain's kubectl against a local cluster, whatever its exit code. */
export function kubectlResult(c: ClusterSpec, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    return new Promise((resolve) => {
        execFile(
            path.join(BIN, "kubectl"),
            [`--kubeconfig=${kubeconfigPath(c)}`, ...args],
            { timeout: timeoutMs, encoding: "utf8" },
            (err, stdout, stderr) =>
                resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr: stderr || (err?.message ?? "") }),
        );
    });
}

/** Runs the toolchain's kubectl against a local cluster; rejects with kubectl's own message. */
export async function kubectl(c: ClusterSpec, args: string[], timeoutMs = 60_000): Promise<string> {
    const result = await kubectlResult(c, args, timeoutMs);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} on ${c.name}: ${(result.stderr || result.stdout).trim()}`);
    return result.stdout;
}
